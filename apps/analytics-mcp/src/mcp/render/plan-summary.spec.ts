import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { summarizePlan } from './plan-summary.js';

const PLAIN = [
  {
    Plan: {
      'Node Type': 'Hash Join',
      'Join Type': 'Inner',
      'Total Cost': 1234.5,
      'Plan Rows': 1000,
      Plans: [
        { 'Node Type': 'Seq Scan', 'Relation Name': 'position_history', 'Total Cost': 900, 'Plan Rows': 5000 },
        { 'Node Type': 'Hash', Plans: [{ 'Node Type': 'Seq Scan', 'Relation Name': 'devices', 'Plan Rows': 100 }] },
      ],
    },
  },
];

const ANALYZED = [
  {
    Plan: {
      'Node Type': 'Nested Loop',
      'Join Type': 'Left',
      'Total Cost': 50,
      'Plan Rows': 10,
      'Actual Rows': 4000,
      'Actual Loops': 1,
      'Actual Total Time': 12.345,
      Plans: [
        { 'Node Type': 'Index Scan', 'Index Name': 'devices_pkey', 'Relation Name': 'devices', 'Plan Rows': 1, 'Actual Rows': 2, 'Actual Loops': 3 },
      ],
    },
    'Planning Time': 0.2,
    'Execution Time': 13.1,
  },
];

describe('summarizePlan', () => {
  it('reads the top node, cost, estimated rows, node count and sequential scans of a plain plan', () => {
    const s = summarizePlan(PLAIN);
    assert.equal(s.top_node, 'Hash Join');
    assert.equal(s.total_cost, 1234.5);
    assert.equal(s.estimated_rows, 1000);
    assert.equal(s.nodes, 4);
    assert.deepEqual(s.seq_scans, ['position_history', 'devices']);
    assert.equal(s.actual_rows, undefined);
    assert.equal(s.text, 'Hash Join (total cost 1,234.5): estimated 1,000 rows (not run; pass analyze: true for actual rows and time). 4 plan nodes; sequential scan of position_history, devices.');
  });

  it('adds actual rows (over all loops), times and the worst misestimate when analyzed', () => {
    const s = summarizePlan(ANALYZED[0]);
    assert.equal(s.top_node, 'Nested Loop Left Join');
    assert.equal(s.actual_rows, 4000);
    assert.equal(s.planning_ms, 0.2);
    assert.equal(s.execution_ms, 13.1);
    assert.deepEqual(s.worst_estimate, { node: 'Nested Loop Left Join', estimated_rows: 10, actual_rows: 4000 });
    assert.match(s.text, /actual 4,000 rows in 12\.35 ms\. Planning 0\.2 ms, execution 13\.1 ms\. 2 plan nodes\. Worst row estimate: Nested Loop Left Join expected 10, got 4,000\./);
  });

  it('names joins and index scans the way EXPLAIN text does', () => {
    assert.equal(summarizePlan([{ Plan: { 'Node Type': 'Hash Join', 'Join Type': 'Anti' } }]).top_node, 'Hash Anti Join');
    assert.equal(summarizePlan([{ Plan: { 'Node Type': 'Index Scan', 'Index Name': 'devices_pkey', 'Relation Name': 'devices' } }]).top_node, 'Index Scan using devices_pkey on devices');
  });

  it('names no misestimate below 10×', () => {
    const s = summarizePlan([{ Plan: { 'Node Type': 'Result', 'Plan Rows': 1, 'Actual Rows': 1, 'Actual Loops': 1, 'Actual Total Time': 0.01 } }]);
    assert.equal(s.worst_estimate, undefined);
    assert.equal(s.nodes, 1);
  });

  it('refuses something that is not a plan', () => {
    assert.throws(() => summarizePlan([{ nope: 1 }]), /not an EXPLAIN/);
  });
});
