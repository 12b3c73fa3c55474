/** The parts of an EXPLAIN (FORMAT JSON) plan node this summary reads. */
interface PlanNode {
  'Node Type'?: string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Join Type'?: string;
  'Total Cost'?: number;
  'Plan Rows'?: number;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Actual Total Time'?: number;
  Plans?: PlanNode[];
}

export interface PlanSummary {
  top_node: string;
  total_cost: number | null;
  estimated_rows: number | null;
  /** ANALYZE only. */
  actual_rows?: number;
  planning_ms?: number;
  execution_ms?: number;
  nodes: number;
  /** Tables read with a sequential scan. */
  seq_scans: string[];
  /** ANALYZE only: the node whose row estimate was furthest off, when 10× or more. */
  worst_estimate?: { node: string; estimated_rows: number; actual_rows: number };
  /** One short paragraph saying the above. */
  text: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function label(node: PlanNode): string {
  let type = node['Node Type'] ?? 'node';
  // As EXPLAIN's text format names them: "Hash Left Join", "Nested Loop Anti Join".
  const join = node['Join Type'];
  if (join && join !== 'Inner') type = type.endsWith(' Join') ? `${type.slice(0, -5)} ${join} Join` : `${type} ${join} Join`;
  const using = node['Index Name'] ? ` using ${node['Index Name']}` : '';
  const on = node['Relation Name'] ? ` on ${node['Relation Name']}` : '';
  return `${type}${using}${on}`;
}

/** Rows a node produced over all its loops (Actual Rows is per loop). */
const actualRows = (n: PlanNode) => Math.round((n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1));

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 2 });

/**
 * A short reading of PostgreSQL's JSON plan: the top node, estimated against actual
 * rows, cost and time, sequential scans, and the worst row misestimate. Accepts the
 * array EXPLAIN returns or its single element.
 */
export function summarizePlan(explained: unknown): PlanSummary {
  const doc = Array.isArray(explained) ? explained[0] : explained;
  if (!isObject(doc) || !isObject(doc.Plan)) throw new Error('not an EXPLAIN (FORMAT JSON) plan');
  const top = doc.Plan as PlanNode;
  const analyzed = typeof top['Actual Loops'] === 'number';

  let nodes = 0;
  const seqScans = new Set<string>();
  let worst: PlanSummary['worst_estimate'];
  let worstRatio = 10;
  const visit = (node: PlanNode) => {
    nodes++;
    if (node['Node Type'] === 'Seq Scan' && node['Relation Name']) seqScans.add(node['Relation Name']);
    if (analyzed && typeof node['Plan Rows'] === 'number' && typeof node['Actual Loops'] === 'number' && node['Actual Loops'] > 0) {
      const estimated = node['Plan Rows'] * node['Actual Loops'];
      const actual = actualRows(node);
      const ratio = Math.max(estimated, actual) / Math.max(Math.min(estimated, actual), 1);
      if (ratio >= worstRatio) {
        worstRatio = ratio;
        worst = { node: label(node), estimated_rows: Math.round(estimated), actual_rows: actual };
      }
    }
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(top);

  const summary: PlanSummary = {
    top_node: label(top),
    total_cost: top['Total Cost'] ?? null,
    estimated_rows: top['Plan Rows'] ?? null,
    nodes,
    seq_scans: [...seqScans],
    text: '',
  };
  if (analyzed) summary.actual_rows = actualRows(top);
  if (typeof doc['Planning Time'] === 'number') summary.planning_ms = doc['Planning Time'];
  if (typeof doc['Execution Time'] === 'number') summary.execution_ms = doc['Execution Time'];
  if (worst) summary.worst_estimate = worst;

  const parts = [
    `${summary.top_node} (total cost ${summary.total_cost === null ? '?' : fmt(summary.total_cost)}): estimated ${summary.estimated_rows === null ? '?' : fmt(summary.estimated_rows)} rows` +
      (analyzed ? `, actual ${fmt(summary.actual_rows!)} rows in ${fmt(top['Actual Total Time'] ?? 0)} ms.` : ' (not run; pass analyze: true for actual rows and time).'),
  ];
  if (summary.planning_ms !== undefined || summary.execution_ms !== undefined) {
    parts.push(
      [summary.planning_ms !== undefined ? `Planning ${fmt(summary.planning_ms)} ms` : '', summary.execution_ms !== undefined ? `execution ${fmt(summary.execution_ms)} ms` : '']
        .filter(Boolean)
        .join(', ') + '.',
    );
  }
  parts.push(`${nodes} plan node${nodes === 1 ? '' : 's'}${summary.seq_scans.length ? `; sequential scan of ${summary.seq_scans.join(', ')}` : ''}.`);
  if (worst) parts.push(`Worst row estimate: ${worst.node} expected ${fmt(worst.estimated_rows)}, got ${fmt(worst.actual_rows)}.`);
  summary.text = parts.join(' ');
  return summary;
}
