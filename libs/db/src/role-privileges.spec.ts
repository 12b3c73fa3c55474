import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { privilegeProblems, type ReachableRole, type RolePrivileges } from './role-privileges.js';

const role = (name: string, over: Partial<ReachableRole> = {}): ReachableRole => ({
  role: name,
  self: false,
  superuser: false,
  bypassRls: false,
  createRole: false,
  replication: false,
  ...over,
});

const privileges = (over: Partial<RolePrivileges> = {}): RolePrivileges => ({
  role: 'analytics_ro',
  roles: [role('analytics_ro', { self: true })],
  writable: [],
  writableCount: 0,
  ...over,
});

describe('privilegeProblems', () => {
  it('finds nothing wrong with a login that only reads', () => {
    assert.deepEqual(privilegeProblems(privileges()), []);
    assert.deepEqual(privilegeProblems(privileges({ roles: [role('analytics_ro', { self: true }), role('readers'), role('pg_read_all_stats')] })), []);
  });

  it("names the login role's own attributes", () => {
    const p = privilegeProblems(
      privileges({ roles: [role('postgres', { self: true, superuser: true, replication: true, bypassRls: true, createRole: true })] }),
    );
    assert.deepEqual(p, ['it has SUPERUSER, BYPASSRLS, CREATEROLE, REPLICATION']);
  });

  it('counts a role it can SET ROLE to, and the predefined roles that reach beyond tables', () => {
    const p = privilegeProblems(
      privileges({
        roles: [
          role('analytics_ro', { self: true }),
          role('admins', { createRole: true }),
          role('postgres', { superuser: true }),
          role('pg_execute_server_program'),
          role('pg_signal_backend'),
          role('pg_monitor'),
        ],
      }),
    );
    assert.deepEqual(p, [
      'it can SET ROLE "admins", which has CREATEROLE',
      'it can SET ROLE "postgres", which has SUPERUSER',
      'it is a member of pg_execute_server_program',
      'it is a member of pg_signal_backend',
    ]);
  });

  it('names the writable tables, how, and how many more there are', () => {
    const p = privilegeProblems(
      privileges({
        writable: [
          { table: 'tracksolid.devices', privileges: ['INSERT'], via: null },
          { table: 'fuel.fill_ups', privileges: ['UPDATE', 'DELETE'], via: 'writers' },
        ],
        writableCount: 7,
      }),
    );
    assert.deepEqual(p, [
      'it can write 7 table(s) in MCP_READABLE_SCHEMAS: tracksolid.devices (INSERT), fuel.fill_ups (UPDATE, DELETE via SET ROLE "writers") and 5 more',
    ]);
  });
});
