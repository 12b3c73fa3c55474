import type pg from 'pg';

export const DEMO_SCHEMAS = ['tracksolid', 'reporting', 'tickets', 'fuel', 'public'];
export const DEMO_TABLES = [
  'tracksolid.devices',
  'tracksolid.position_history',
  'tickets.tickets',
  'fuel.fill_ups',
  'reporting.daily_mileage',
  'public.demo_seed',
];
export const FILES_ATTACKS_WOULD_CREATE = ['/tmp/pwned', '/tmp/devices.csv'];

/** Everything an attack could have changed, as seen by a superuser. */
export async function dbState(c: pg.Client): Promise<Record<string, unknown>> {
  const one = async (sql: string) => (await c.query(sql)).rows[0];
  const state: Record<string, unknown> = {};
  for (const t of DEMO_TABLES) {
    state[t] = await one(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS h FROM ${t} t`,
    );
  }
  const schemas = DEMO_SCHEMAS.map((s) => `'${s}'`).join(', ');
  state.relations = await one(
    `SELECT string_agg(format('%s.%s:%s:%s:%s', n.nspname, c.relname, c.relkind, c.relfilenode, c.relacl), ',' ORDER BY n.nspname, c.relname) AS r
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN (${schemas})`,
  );
  state.tempRelations = await one(`SELECT count(*)::int AS n FROM pg_class WHERE relpersistence = 't'`);
  state.schemas = await one(`SELECT string_agg(nspname || ':' || coalesce(nspacl::text, ''), ',' ORDER BY nspname) AS s FROM pg_namespace WHERE nspname !~ '^pg_(toast_)?temp_'`);
  state.roles = await one(
    `SELECT string_agg(format('%s:%s:%s:%s', rolname, rolsuper, rolcanlogin, rolconfig), ',' ORDER BY rolname) AS r FROM pg_roles`,
  );
  state.roleSettings = await one(`SELECT count(*)::int AS n, md5(coalesce(string_agg(setconfig::text, ',' ORDER BY setdatabase, setrole), '')) AS h FROM pg_db_role_setting`);
  state.sequences = await one(
    `SELECT string_agg(format('%s.%s=%s', schemaname, sequencename, last_value), ',' ORDER BY schemaname, sequencename) AS s
       FROM pg_sequences WHERE schemaname IN (${schemas})`,
  );
  state.largeObjects = await one(`SELECT count(*)::int AS n FROM pg_largeobject_metadata`);
  state.advisoryLocks = await one(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`);
  state.replicationSlots = await one(`SELECT count(*)::int AS n FROM pg_replication_slots`);
  state.replicationOrigins = await one(`SELECT count(*)::int AS n FROM pg_replication_origin`);
  state.preparedXacts = await one(`SELECT count(*)::int AS n FROM pg_prepared_xacts`);
  state.userFunctions = await one(
    `SELECT count(*)::int AS n FROM pg_proc WHERE pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)`,
  );
  state.extensions = await one(`SELECT string_agg(extname, ',' ORDER BY extname) AS e FROM pg_extension`);
  state.collations = await one(`SELECT count(*)::int AS n FROM pg_collation`);
  state.comments = await one(`SELECT count(*)::int AS n, md5(coalesce(string_agg(description, '|' ORDER BY objoid, objsubid), '')) AS h FROM pg_description WHERE objoid >= 16384`);
  state.dataDir = await one(`SELECT string_agg(f, ',' ORDER BY f) AS f FROM pg_ls_dir('.') f`);
  state.autoConf = await one(`SELECT md5(pg_read_file('postgresql.auto.conf')) AS h`);
  state.serverSettings = await one(
    `SELECT string_agg(name || '=' || setting, ',' ORDER BY name) AS s FROM pg_settings WHERE source NOT IN ('default', 'session', 'client')`,
  );
  return state;
}
