import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../apps/analytics-mcp/src/config/app-config.js';
import { freePort } from '../apps/analytics-mcp/src/embedded/free-port.js';
import { parseDockerfile } from './support/dockerfile.js';
import { startTestServer, type TestServer } from './support/stack.js';

const K8S = resolve('deploy/k8s');

// Loosely typed views of the manifests: the assertions below are the schema.
type Obj = Record<string, any>;

async function load(file: string): Promise<Obj[]> {
  const docs = parseAllDocuments(await readFile(join(K8S, file), 'utf8'));
  return docs.map((d) => {
    assert.deepEqual(d.errors, [], `${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as Obj;
  });
}

describe('deploy/k8s manifests against the app', () => {
  let all: Obj[];
  let kustomization: Obj;
  const one = (kind: string) => {
    const found = all.filter((m) => m.kind === kind);
    assert.equal(found.length, 1, `one ${kind}`);
    return found[0]!;
  };
  let deployment: Obj;
  let container: Obj;
  let server: TestServer;

  before(async () => {
    const files = (await readdir(K8S, { recursive: true })).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    all = (await Promise.all(files.map(load))).flat();
    [kustomization] = await load('kustomization.yaml');
    deployment = one('Deployment');
    [container] = deployment.spec.template.spec.containers;
    // The real app, its database unreachable (the pool is lazy): probes hit its real routes.
    server = await startTestServer(`postgresql://analytics_ro:x@127.0.0.1:${await freePort()}/fleet`, { MCP_CONNECT_TIMEOUT_MS: '500' });
  });
  after(async () => {
    await server?.close();
  });

  it('kustomization.yaml lists every manifest but the Secret example and the optional Ingress', async () => {
    const listed: string[] = kustomization.resources;
    for (const f of listed) assert.ok(existsSync(join(K8S, f)), `${f} exists`);
    const files = (await readdir(K8S)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    assert.deepEqual(files.filter((f) => !listed.includes(f)).sort(), ['secret.example.yaml']);
    assert.equal(kustomization.images[0].name, container.image);
  });

  it('runs 2 replicas, rolling one at a time, without a preStop hook', () => {
    assert.equal(deployment.spec.replicas, 2);
    assert.deepEqual(deployment.spec.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 });
    assert.equal(container.lifecycle, undefined, 'the app drains itself on SIGTERM');
    assert.deepEqual(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels);
  });

  it("probes the app's real routes on its real port: startup and liveness /health/live, readiness /health/ready", async () => {
    const [port] = container.ports;
    const config = loadConfig({ DATABASE_URL: 'postgresql://u:p@db/x', MCP_AUTH_TOKENS: 'a:0123456789abcdef' });
    assert.deepEqual([port.name, port.containerPort], ['http', config.port]);
    const probes = { startupProbe: '/health/live', livenessProbe: '/health/live', readinessProbe: '/health/ready' };
    for (const [probe, path] of Object.entries(probes)) {
      assert.equal(container[probe].httpGet.path, path, probe);
      assert.equal(container[probe].httpGet.port, 'http', probe);
    }
    // Live answers without the database; ready reports it down (503), and an unknown path is 404.
    assert.equal((await fetch(`${server.baseUrl}${probes.livenessProbe}`)).status, 200);
    assert.equal((await fetch(`${server.baseUrl}${probes.readinessProbe}`)).status, 503);
    assert.equal((await fetch(`${server.baseUrl}/health/nothing`)).status, 404);
  });

  it("runs as the image's user with the restricted security context and resource bounds", () => {
    const [uid, gid] = (parseDockerfile(resolve('Dockerfile')).stages.at(-1)!.instructions.filter((i) => i.op === 'USER').at(-1)!.args).split(':').map(Number);
    const pod = deployment.spec.template.spec.securityContext;
    assert.equal(pod.runAsNonRoot, true);
    assert.equal(pod.runAsUser, uid);
    assert.equal(pod.runAsGroup, gid);
    assert.equal(pod.seccompProfile.type, 'RuntimeDefault');
    const sc = container.securityContext;
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.deepEqual(sc.capabilities.drop, ['ALL']);
    assert.equal(deployment.spec.template.spec.automountServiceAccountToken, false);
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory && container.resources.limits.memory);
  });

  it('sets only variables the server reads, secrets from the Secret, and values it accepts', () => {
    const configMap = one('ConfigMap');
    const secret = one('Secret');
    const envNames = [...Object.keys(configMap.data), ...container.env.map((e: Obj) => e.name)];
    for (const name of envNames) assert.ok(CONFIG_VARIABLES.includes(name), `${name} is not a variable the server reads`);
    assert.deepEqual(container.envFrom, [{ configMapRef: { name: configMap.metadata.name } }]);
    const fromSecret = container.env.filter((e: Obj) => e.valueFrom?.secretKeyRef);
    assert.deepEqual(fromSecret.map((e: Obj) => e.name).sort(), ['DATABASE_URL', 'MCP_AUTH_TOKENS', 'REDIS_URL']);
    for (const e of fromSecret) {
      assert.equal(e.valueFrom.secretKeyRef.name, secret.metadata.name);
      assert.ok(e.valueFrom.secretKeyRef.key in secret.stringData, `the Secret example has ${e.valueFrom.secretKeyRef.key}`);
    }
    assert.equal(container.env.some((e: Obj) => 'value' in e && /TOKEN|URL/.test(e.name)), false, 'no secret inline');
    // The example values have the format the server expects.
    const config = loadConfig({ ...configMap.data, ...secret.stringData });
    assert.equal(config.pgStartupOptions, 'off');
    assert.ok(config.redisUrl);
    assert.ok(config.allowedHosts?.length);

    // Room for the drain: grace period, then the longest statement, then closing.
    const graceMs = deployment.spec.template.spec.terminationGracePeriodSeconds * 1000;
    assert.ok(graceMs > config.shutdownGraceMs + config.statementTimeoutMs, `${graceMs} ms ≤ ${config.shutdownGraceMs} + ${config.statementTimeoutMs}`);
  });

  it('Service, PodDisruptionBudget and NetworkPolicy select the pods; the policy lets in only the MCP port and out only DNS, PostgreSQL/PgBouncer, Redis and HTTPS', () => {
    const labels = deployment.spec.template.metadata.labels;
    const matches = (sel: Obj) => Object.entries(sel).every(([k, v]) => labels[k] === v);
    const service = one('Service');
    assert.ok(matches(service.spec.selector));
    assert.equal(service.spec.ports[0].targetPort, 'http');
    const pdb = one('PodDisruptionBudget');
    assert.ok(matches(pdb.spec.selector.matchLabels));
    assert.ok(pdb.spec.minAvailable === 1 || pdb.spec.maxUnavailable === 1);
    assert.ok(pdb.spec.minAvailable === undefined || pdb.spec.minAvailable < deployment.spec.replicas);

    const policy = one('NetworkPolicy');
    assert.ok(matches(policy.spec.podSelector.matchLabels));
    assert.deepEqual([...policy.spec.policyTypes].sort(), ['Egress', 'Ingress']);
    const ingressPorts = policy.spec.ingress.flatMap((r: Obj) => r.ports);
    assert.deepEqual(ingressPorts, [{ port: container.ports[0].containerPort, protocol: 'TCP' }]);
    const egressPorts = new Set<number>(policy.spec.egress.flatMap((r: Obj) => r.ports.map((p: Obj) => p.port)));
    assert.deepEqual([...egressPorts].sort((a, b) => a - b), [53, 443, 5432, 6379, 6432]);
    for (const rule of policy.spec.egress) assert.ok(rule.to?.length, 'every egress rule names its destination');
  });

  it('the optional Ingress routes /mcp to the Service, for a host in MCP_ALLOWED_HOSTS', () => {
    const ingress = one('Ingress');
    const service = one('Service');
    const rule = ingress.spec.rules[0];
    const path = rule.http.paths[0];
    assert.equal(path.path, '/mcp');
    assert.equal(path.backend.service.name, service.metadata.name);
    assert.equal(path.backend.service.port.name, service.spec.ports[0].name);
    assert.ok(loadConfig({ ...one('ConfigMap').data, ...one('Secret').stringData }).allowedHosts!.includes(rule.host));
  });
});
