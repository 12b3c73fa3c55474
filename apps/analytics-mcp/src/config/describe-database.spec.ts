import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseTarget, describeDatabase, UNPARSABLE_DATABASE_URL } from './describe-database.js';

/** Every way `secret` could show up in print: as written, percent-encoded, or in part. */
function assertHides(out: string, secret: string): void {
  for (const form of [secret, encodeURIComponent(secret), secret.slice(0, 6), secret.slice(-6)]) {
    assert.ok(!out.includes(form), `"${out}" shows "${form}"`);
  }
}

describe('describeDatabase', () => {
  it('shows host:port/database (role) and nothing of the password', () => {
    const out = describeDatabase('postgresql://analytics_ro:s3cr3t-Passw0rd@db.example.com:6432/fleet');
    assert.equal(out, 'db.example.com:6432/fleet (analytics_ro)');
    assertHides(out, 's3cr3t-Passw0rd');
    assert.equal(describeDatabase('postgres://u:pw@db/fleet'), 'db:5432/fleet (u)');
  });

  it('hides passwords holding URL delimiters, raw or percent-encoded', () => {
    const cases: [string, string, string][] = [
      // url, the password in it, expected description
      ['postgresql://u:p@ss@h/db', 'p@ss', 'h:5432/db (u)'],
      ['postgresql://u:a@b@c:d@h:5433/db', 'a@b@c:d', 'h:5433/db (u)'],
      ['postgresql://u:has%40at%3Acolon%2Fslash%3Fq%23hash@h/db', 'has@at:colon/slash?q#hash', 'h:5432/db (u)'],
      ['postgresql://u:%F0%9F%94%91unicode-key@h/db', '🔑unicode-key', 'h:5432/db (u)'],
      ['postgresql://u:pct%25literal@h/db', 'pct%literal', 'h:5432/db (u)'],
      ['postgresql://u:with space@h/db', 'with space', 'h:5432/db (u)'],
      ['postgresql://u:ab&sslmode=cd-secret@h/db?sslmode=disable', 'ab&sslmode=cd-secret', 'h:5432/db (u)'],
    ];
    for (const [url, secret, expected] of cases) {
      const out = describeDatabase(url);
      assert.equal(out, expected, url);
      assertHides(out, secret);
    }
  });

  it('never prints a password that a raw "/", "?" or "#" splits: the URL counts as unparsable', () => {
    const cases: [string, string][] = [
      ['postgresql://u:pa/ss-secret@h/db', 'pa/ss-secret'],
      ['postgresql://u:5432/secret-tail@host/db', '5432/secret-tail'],
      ['postgresql://u:1234?secret-tail@host/db', '1234?secret-tail'],
      ['postgresql://u:1234#secret-tail@host/db', '1234#secret-tail'],
      ['postgresql://u:pass?word=secret@h/db', 'pass?word=secret'],
    ];
    for (const [url, secret] of cases) {
      const out = describeDatabase(url);
      assert.equal(out, UNPARSABLE_DATABASE_URL, url);
      assertHides(out, secret);
    }
  });

  it('ignores passwords and other secrets given as parameters', () => {
    const cases: [string, string, string][] = [
      ['postgresql://u@h/db?password=param-secret', 'param-secret', 'h:5432/db (u)'],
      ['postgresql://u:userinfo-secret@h/db?password=param-secret', 'param-secret', 'h:5432/db (u)'],
      ['postgresql://u@h/db?sslmode=verify-full&sslpassword=key-secret&sslkey=/nonexistent/key.pem', 'key-secret', 'h:5432/db (u)'],
      ['postgresql://u@h/db?passfile=/home/u/.pgpass-secret', '.pgpass-secret', 'h:5432/db (u)'],
      ['postgresql://h/db?user=bob&password=p%40ram-secret', 'p@ram-secret', 'h:5432/db (bob)'],
      ['postgresql://u@h/db?options=-c%20search_path%3Dx&password=opt-secret', 'opt-secret', 'h:5432/db (u)'],
    ];
    for (const [url, secret, expected] of cases) {
      const out = describeDatabase(url);
      assert.equal(out, expected, url);
      assertHides(out, secret);
    }
  });

  it('takes the host, port and user from parameters as node-postgres does', () => {
    assert.equal(describeDatabase('postgresql:///fleet?host=/var/run/postgresql&user=ro'), '/var/run/postgresql:5432/fleet (ro)');
    assert.equal(describeDatabase('postgresql://ignored:1/fleet?host=db2&port=6000&user=ro'), 'db2:6000/fleet (ro)');
    assert.equal(describeDatabase('postgresql://who%40corp:pw@h/db'), 'h:5432/db (who@corp)');
    assert.equal(describeDatabase('postgresql://h/db?user=who@corp&password=x-secret'), 'h:5432/db (who@corp)');
  });

  it('shows unix-socket hosts, IPv6 addresses and multiple hosts', () => {
    assert.equal(describeDatabase('postgresql://ro:pw@%2Fvar%2Frun%2Fpostgresql/fleet'), '/var/run/postgresql:5432/fleet (ro)');
    assert.equal(describeDatabase('postgresql://ro:pw@[::1]:5433/fleet'), '[::1]:5433/fleet (ro)');
    assert.equal(describeDatabase('postgresql://ro:pw@h1,h2/fleet'), 'h1,h2:5432/fleet (ro)');
    // node-postgres cannot parse host:port lists; neither do we pretend to.
    assert.equal(describeDatabase('postgresql://ro:list-secret@h1:5432,h2:5433/fleet'), UNPARSABLE_DATABASE_URL);
  });

  it("fills missing parts with node-postgres's defaults and the PG* environment it would use", () => {
    assert.equal(describeDatabase('postgresql://'), 'localhost:5432/? (no role given)');
    assert.equal(describeDatabase('postgresql://h'), 'h:5432/? (no role given)');
    assert.equal(describeDatabase('postgresql://u@h'), 'h:5432/u (u)');
    assert.equal(describeDatabase('postgresql:///db', { USER: 'svc' }), 'localhost:5432/db (svc)');
    assert.equal(
      describeDatabase('postgresql://', { PGHOST: 'pg.internal', PGPORT: '6543', PGUSER: 'ro', PGDATABASE: 'fleet', PGPASSWORD: 'env-secret' }),
      'pg.internal:6543/fleet (ro)',
    );
  });

  it('prints a fixed placeholder, never the text, for what cannot be parsed', () => {
    for (const url of [
      'not a url: raw-secret',
      'mysql://u:raw-secret@h/db',
      'postgresql://u:raw-secret@h:notaport/db',
      'postgresql://u:raw-secret@[::1/db',
      '',
    ]) {
      assert.equal(describeDatabase(url), UNPARSABLE_DATABASE_URL, url);
      assert.equal(databaseTarget(url), null);
    }
  });

  it('keeps a description on one line', () => {
    assert.equal(describeDatabase('postgresql://u:pw@h/db%0Aforged%20log%20line'), 'h:5432/db?forged log line (u)');
  });
});
