/**
 * What the server knows about common extensions. `never`: extensions whose purpose
 * is to run SQL text, reach storage, files or other servers: no setting allows
 * them. Vetted: their IMMUTABLE/STABLE members are allowed once the extension is
 * named in MCP_ALLOWED_EXTENSIONS, minus `deny`, plus the VOLATILE members in
 * `volatile` (which only read or generate values). An extension missing from both
 * lists may still be named: its IMMUTABLE/STABLE members are then allowed, with a
 * warning at boot that nobody vetted it.
 */
export interface VettedExtension {
  readonly deny?: Readonly<Record<string, string>>;
  readonly volatile?: readonly string[];
}

export const NEVER_EXTENSIONS: Readonly<Record<string, string>> = {
  xml2: 'xpath_table() runs the SQL text it is given',
  dblink: 'it opens a second, writable connection and runs SQL text there',
  postgres_fdw: 'it runs SQL on other servers',
  file_fdw: 'it reads server files and runs programs',
  tablefunc: 'crosstab() and connectby() run SQL text',
  pg_surgery: 'it changes table pages directly; no rollback undoes it',
  pg_visibility: 'it reads and truncates the visibility map',
  pageinspect: 'it reads raw pages, past every row and column privilege',
  pgstattuple: 'it reads every page of a relation outside the planner',
  pgrowlocks: 'it reads every page of a relation outside the planner',
  pg_freespacemap: 'it reads storage-level free-space maps',
  amcheck: 'it reads every page of a relation and takes locks to verify it',
  adminpack: 'it writes, renames and removes server files',
  pg_buffercache: 'it shows and evicts shared buffers',
  pg_prewarm: 'it loads relations into memory and starts background workers',
  pg_walinspect: 'WAL records carry other tables\' rows',
  lo: 'it manages large objects',
  old_snapshot: 'it exposes server snapshot internals',
  plperlu: 'untrusted procedural language',
  plpython3u: 'untrusted procedural language',
  pltclu: 'untrusted procedural language',
};

export const VETTED_EXTENSIONS: Readonly<Record<string, VettedExtension>> = {
  pg_trgm: { deny: { set_limit: 'it changes pg_trgm.similarity_threshold for the pooled session' } },
  fuzzystrmatch: {},
  cube: {},
  earthdistance: {},
  citext: {},
  hstore: {},
  ltree: {},
  intarray: {},
  unaccent: {},
  isn: {},
  seg: {},
  btree_gin: {},
  btree_gist: {},
  'uuid-ossp': { volatile: ['uuid_generate_v1', 'uuid_generate_v1mc', 'uuid_generate_v4'] },
  pgcrypto: { volatile: ['gen_random_bytes', 'gen_random_uuid', 'gen_salt'] },
  tsm_system_rows: { volatile: ['system_rows'] },
  tsm_system_time: { volatile: ['system_time'] },
  postgis: { volatile: ['st_generatepoints'] },
  timescaledb: {
    // Read-only helpers that TimescaleDB declares VOLATILE; everything else VOLATILE
    // (jobs, policies, chunk and compression management) stays refused.
    volatile: [
      'time_bucket_gapfill', 'locf', 'interpolate', 'approximate_row_count', 'show_chunks', 'hypertable_size',
      'hypertable_detailed_size', 'hypertable_index_size', 'chunks_detailed_size', 'hypertable_compression_stats',
      'chunk_compression_stats',
    ],
  },
};

/**
 * The analytics extensions allowed when MCP_ALLOWED_EXTENSIONS is not set; only
 * those installed in the database matter.
 */
export const DEFAULT_ALLOWED_EXTENSIONS: readonly string[] = [
  'timescaledb', 'postgis', 'pg_trgm', 'fuzzystrmatch', 'cube', 'earthdistance',
];

/**
 * VOLATILE built-ins that only read or generate values. Every other VOLATILE
 * built-in may change state somewhere and is refused unless a site allows it.
 */
export const SAFE_VOLATILE_BUILTINS: readonly string[] = [
  'random', 'random_normal', 'clock_timestamp', 'timeofday', 'gen_random_uuid', 'uuidv4', 'uuidv7',
  'currval', 'lastval', 'pg_current_xact_id', 'txid_current',
  'pg_relation_size', 'pg_table_size', 'pg_indexes_size', 'pg_total_relation_size', 'pg_database_size',
  'pg_tablespace_size', 'pg_column_size', 'pg_partition_tree', 'pg_partition_ancestors', 'pg_sequence_last_value',
  'pg_blocking_pids', 'array_shuffle', 'array_sample',
  // TABLESAMPLE methods are functions too.
  'bernoulli', 'system',
];

/** Built-ins that show other sessions' SQL text (MCP_ALLOW_ACTIVITY_VIEWS). */
export const ACTIVITY_FUNCTIONS: readonly string[] = ['pg_stat_get_activity', 'pg_stat_get_backend_activity'];
export const ACTIVITY_RELATIONS: readonly string[] = ['pg_stat_activity'];
export const ACTIVITY_EXTENSION = 'pg_stat_statements';
