/**
 * Function families a caller's statement may not call, anywhere in the tree. Names
 * are matched case-insensitively on the last part of the (possibly schema-qualified)
 * name, so `pg_catalog.pg_sleep`, `PG_SLEEP` and `U&"\0070g_sleep"` all match
 * `pg_sleep`. The reason is shown to the caller.
 */
export interface DenyFamily {
  readonly family: string;
  readonly reason: string;
  readonly names: readonly string[];
  readonly prefixes: readonly string[];
}

export const DENY_FAMILIES: readonly DenyFamily[] = [
  {
    family: 'server-files',
    reason: 'it reads or lists files on the database server',
    names: [
      'pg_stat_file',
      'pg_current_logfile',
      'pg_logdir_ls',
      'pg_available_wal_summaries',
      'pg_wal_summary_contents',
      // pg_walinspect: WAL records carry other tables' row images.
      'pg_get_wal_record_info',
      'pg_get_wal_records_info',
      'pg_get_wal_records_info_till_end_of_wal',
      'pg_get_wal_stats',
      'pg_get_wal_stats_till_end_of_wal',
      'pg_get_wal_block_info',
    ],
    // pg_file_* is adminpack (write, rename, unlink, sync).
    prefixes: ['pg_read_', 'pg_ls_', 'pg_file_'],
  },
  {
    family: 'large-objects',
    reason: 'large-object functions create, read or write large objects and server files',
    names: ['loread', 'lowrite'],
    prefixes: ['lo_'],
  },
  {
    family: 'sql-text',
    reason: 'it executes SQL text or whole-table queries the guard cannot inspect',
    names: ['ts_stat', 'ts_rewrite', 'connectby'],
    prefixes: [
      'query_to_xml',
      'cursor_to_xml',
      'table_to_xml',
      'schema_to_xml',
      'database_to_xml',
      'dblink',
      'postgres_fdw_',
      'crosstab',
    ],
  },
  {
    family: 'settings',
    reason: 'it changes settings or session state that a pooled connection would keep',
    names: ['set_config', 'setseed'],
    prefixes: [],
  },
  {
    family: 'advisory-locks',
    reason: 'advisory locks can outlive the transaction and block other sessions',
    names: [],
    prefixes: ['pg_advisory_', 'pg_try_advisory_'],
  },
  {
    family: 'server-control',
    reason: 'it controls the server, other backends, WAL or backups',
    names: [
      'pg_terminate_backend',
      'pg_cancel_backend',
      'pg_reload_conf',
      'pg_switch_wal',
      'pg_switch_xlog',
      'pg_start_backup',
      'pg_stop_backup',
      'pg_promote',
      'pg_import_system_collations',
      'pg_export_snapshot',
      'pg_nextoid',
      'pg_stop_making_pinned_objects',
      'pg_extension_config_dump',
      'pg_prewarm',
      'autoprewarm_start_worker',
      'autoprewarm_dump_now',
      'brin_summarize_range',
      'brin_summarize_new_values',
      'brin_desummarize_range',
      'gin_clean_pending_list',
    ],
    prefixes: [
      'pg_rotate_logfile',
      'pg_backup_',
      'pg_create_',
      'pg_log_',
      'pg_buffercache_evict',
      'binary_upgrade_',
    ],
  },
  {
    family: 'replication',
    reason: 'it changes replication slots, origins or WAL replay, which survive the rollback',
    names: ['pg_drop_replication_slot', 'pg_replication_slot_advance', 'pg_sync_replication_slots'],
    prefixes: ['pg_copy_', 'pg_logical_', 'pg_replication_origin_', 'pg_wal_replay_', 'pg_xlog_replay_'],
  },
  {
    family: 'statistics',
    reason: 'it resets or rewrites the statistics that monitoring and the planner rely on',
    names: ['pg_stat_statements_reset'],
    prefixes: ['pg_stat_reset', 'pg_restore_', 'pg_clear_'],
  },
  {
    family: 'notify',
    reason: 'it sends notifications to other sessions',
    names: ['pg_notify'],
    prefixes: [],
  },
  {
    family: 'sequences',
    reason: 'it advances or sets a sequence, which no rollback undoes',
    names: ['nextval', 'setval'],
    prefixes: [],
  },
  {
    family: 'sleeps',
    reason: 'sleeps hold a connection',
    names: [],
    prefixes: ['pg_sleep'],
  },
];

const exact = new Map<string, DenyFamily>();
const prefixes: [string, DenyFamily][] = [];
for (const f of DENY_FAMILIES) {
  for (const n of f.names) exact.set(n, f);
  for (const p of f.prefixes) prefixes.push([p, f]);
}

/** The family that denies a function called `name` (any case), if any. */
export function findDenyFamily(name: string): DenyFamily | undefined {
  const n = name.toLowerCase();
  const hit = exact.get(n);
  if (hit) return hit;
  for (const [p, f] of prefixes) if (n.startsWith(p)) return f;
  return undefined;
}
