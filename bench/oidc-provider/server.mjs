// Peer server for bench/issuer_client_credentials.sh.
//
// oidc-provider (the OpenID-certified npm library) configured for the OAuth 2.0
// client_credentials grant only, with one confidential client authenticating with
// client_secret_post, issuing RS256-signed JWT access tokens (RFC 9068, via
// features.resourceIndicators) — the same work tokengate's issuer does per request.
//
// Served over HTTPS (node:https, keep-alive) on loopback with a certificate the bench
// script makes with `openssl req -x509`. Node runs JavaScript on one thread, so to use
// the machine's cores like tokengate does it runs WORKERS processes with node:cluster
// (JWT access tokens are not stored, so the workers share no state; they share one
// signing key).
//
// Environment (all set by the bench script):
//   TLS_CERT, TLS_KEY   PEM files for the HTTPS listener
//   PORT_FILE           the chosen port is written here once listening (port 0 = any free port)
//   PORT                default 0; HOST is always 127.0.0.1
//   CLIENT_ID, CLIENT_SECRET, RESOURCE, SCOPE
//   WORKERS             number of worker processes (default: number of CPUs)
//
// MODE=refresh (bench/issuer_refresh.sh; the default MODE=client_credentials is the above):
// the refresh_token grant with rotation (rotateRefreshToken: true: the presented token is
// consumed, a new one issued; a consumed token presented again revokes the grant). One public
// client (token_endpoint_auth_method none, grant_types authorization_code + refresh_token,
// CLIENT_SECRET unused); the refresh answer carries an RS256 JWT access token for RESOURCE and,
// for the openid scope, an RS256 ID token, like tokengate's. Extra environment:
//   ADAPTER             "memory" (default: oidc-provider's in-memory LRU; per process, not
//                       durable, so use WORKERS=1) or "redis" (redis_adapter.mjs; shared by the
//                       workers, durable when redis-server runs with appendfsync always)
//   REDIS               with ADAPTER=redis: unix socket path or redis:// URL
//   SEED_ENDPOINT=1     serve POST /bench/seed (form n=N): creates N refresh tokens through the
//                       provider's models, each in its own grant (one sign-in each), and answers
//                       them one per line (text/plain). The bench script fetches fresh ones just
//                       before each wrk run: the in-memory adapter is an LRU of 1000 entries that
//                       forgets idle tokens. Every other path goes to the provider unchanged.
import cluster from 'node:cluster';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import process from 'node:process';

import Provider, { errors } from 'oidc-provider';

const HOST = '127.0.0.1';
const env = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') {
    if (dflt === undefined) {
      console.error(`server.mjs: missing env ${name}`);
      process.exit(2);
    }
    return dflt;
  }
  return v;
};

function writePortFile(portFile, port) {
  writeFileSync(`${portFile}.${process.pid}`, `${port}\n`);
  renameSync(`${portFile}.${process.pid}`, portFile);
}

// Both modes issue RS256 JWT access tokens for one resource, as tokengate does.
function jwtAccessTokensFor(resource, scope) {
  return {
    enabled: true,
    defaultResource: () => resource,
    useGrantedResource: () => true,
    getResourceServerInfo: (_ctx, resourceIndicator) => {
      if (resourceIndicator !== resource) throw new errors.InvalidTarget();
      return { scope, audience: resource, accessTokenTTL: 3600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
    },
  };
}

const MODE = env('MODE', 'client_credentials');
if (MODE !== 'client_credentials' && MODE !== 'refresh') {
  console.error(`server.mjs: MODE must be client_credentials or refresh (got ${MODE})`);
  process.exit(2);
}

const WORKERS = Math.max(1, Number.parseInt(env('WORKERS', String(os.availableParallelism?.() ?? os.cpus().length)), 10));

if (cluster.isPrimary && WORKERS > 1) {
  // One signing key for all workers.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', use: 'sig', alg: 'RS256' };
  const workerEnv = { BENCH_JWK: JSON.stringify(jwk) };
  let stopping = false;
  const portFile = env('PORT_FILE');
  const ready = new Set();
  for (let i = 0; i < WORKERS; i += 1) {
    const w = cluster.fork(workerEnv);
    w.on('message', (msg) => {
      // Write the port file only once every worker is listening.
      if (msg && typeof msg.port === 'number') {
        ready.add(w.id);
        if (ready.size === WORKERS) writePortFile(portFile, msg.port);
      }
    });
  }
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      console.error(`server.mjs: worker ${worker.process.pid} died (${signal || code}); stopping`);
      stopping = true;
      for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
      process.exitCode = 1;
    }
  });
  const stop = () => {
    stopping = true;
    for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
    // Bounded: exit once all workers are gone, or after 3 s regardless (SIGKILL leftovers).
    const deadline = Date.now() + 3000;
    const poll = setInterval(() => {
      const left = Object.values(cluster.workers);
      if (left.length === 0 || Date.now() > deadline) {
        for (const w of left) w.process.kill('SIGKILL');
        clearInterval(poll);
        process.exit(0);
      }
    }, 50);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  let jwk;
  if (process.env.BENCH_JWK) {
    jwk = JSON.parse(process.env.BENCH_JWK);
  } else {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', use: 'sig', alg: 'RS256' };
  }

  const CLIENT_ID = env('CLIENT_ID');
  const CLIENT_SECRET = MODE === 'refresh' ? undefined : env('CLIENT_SECRET');
  const RESOURCE = env('RESOURCE');
  const SCOPE = env('SCOPE', 'api.read');
  const PORT = Number.parseInt(env('PORT', '0'), 10);

  const server = https.createServer({
    cert: readFileSync(env('TLS_CERT')),
    key: readFileSync(env('TLS_KEY')),
    keepAlive: true,
    keepAliveTimeout: 60_000,
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;

  server.listen(PORT, HOST, async () => {
    const { port } = server.address();
    if (MODE === 'refresh') {
      try {
        await startRefreshMode(server, port, jwk, { CLIENT_ID, RESOURCE, SCOPE });
      } catch (err) {
        console.error('server.mjs: refresh mode start-up failed', err);
        process.exit(1);
      }
      return;
    }
    const provider = new Provider(`https://${HOST}:${port}`, {
      clients: [{
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_post',
        scope: SCOPE,
      }],
      clientAuthMethods: ['client_secret_post'],
      jwks: { keys: [jwk] },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      scopes: [SCOPE],
      ttl: { ClientCredentials: 3600 },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: false },
        revocation: { enabled: false },
        resourceIndicators: jwtAccessTokensFor(RESOURCE, SCOPE),
      },
    });
    provider.on('server_error', (_ctx, err) => console.error('server.mjs: server_error', err));
    server.on('request', provider.callback());

    // Cluster workers all get the same port; the primary writes the file once all listen.
    if (cluster.isWorker) process.send({ port });
    else writePortFile(env('PORT_FILE'), port);
    console.error(`server.mjs: pid ${process.pid} listening on https://${HOST}:${port}`);
  });

  // A benchmark peer has nothing to flush: exit at once (the provider's in-memory
  // adapter keeps timers that would otherwise hold the event loop open).
  const stop = () => process.exit(0);
  if (cluster.isWorker) process.on('disconnect', stop); // primary gone: do not linger
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// ---------------------------------------------------------------- MODE=refresh
async function startRefreshMode(server, port, jwk, { CLIENT_ID, RESOURCE, SCOPE }) {
  const ADAPTER = env('ADAPTER', 'memory');
  const ACCOUNT_ID = 'bench-user';
  const OIDC_SCOPES = 'openid profile offline_access';
  let adapter;
  if (ADAPTER === 'redis') {
    const { redisAdapter } = await import('./redis_adapter.mjs');
    const redis = redisAdapter(env('REDIS'));
    await redis.ready();
    adapter = redis.Adapter;
  } else if (ADAPTER !== 'memory') {
    throw new Error(`ADAPTER must be memory or redis (got ${ADAPTER})`);
  }

  const provider = new Provider(`https://${HOST}:${port}`, {
    ...(adapter ? { adapter } : {}),
    clients: [{
      client_id: CLIENT_ID,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['https://127.0.0.1/cb'],
      scope: `${OIDC_SCOPES} ${SCOPE}`,
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: [...OIDC_SCOPES.split(' '), SCOPE],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    async findAccount(_ctx, sub) {
      if (sub !== ACCOUNT_ID) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, name: 'Bench User', preferred_username: 'bench@tokengate.test' };
        },
      };
    },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: 3600,
      IdToken: 3600,
      RefreshToken: 90 * 24 * 3600,
      Grant: 90 * 24 * 3600,
      Session: 24 * 3600,
      Interaction: 600,
      AuthorizationCode: 60,
    },
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: jwtAccessTokensFor(RESOURCE, SCOPE),
    },
  });
  provider.on('server_error', (_ctx, err) => console.error('server.mjs: server_error', err));

  async function seed(n) {
    const client = await provider.Client.find(CLIENT_ID);
    const now = Math.floor(Date.now() / 1000);
    const tokens = [];
    for (let i = 0; i < n; i += 1) {
      // Each token its own grant, like one sign-in each: independent rotation chains.
      const grant = new provider.Grant({ accountId: ACCOUNT_ID, clientId: CLIENT_ID });
      grant.addOIDCScope(OIDC_SCOPES);
      grant.addResourceScope(RESOURCE, SCOPE);
      const grantId = await grant.save();
      const rt = new provider.RefreshToken({
        accountId: ACCOUNT_ID,
        client,
        grantId,
        gty: 'authorization_code',
        scope: `${OIDC_SCOPES} ${SCOPE}`,
        resource: RESOURCE,
        authTime: now,
        sid: randomBytes(16).toString('base64url'),
      });
      tokens.push(await rt.save());
    }
    return tokens;
  }

  const callback = provider.callback();
  if (env('SEED_ENDPOINT', '0') === '1') {
    server.on('request', (req, res) => {
      if (req.method !== 'POST' || req.url !== '/bench/seed') {
        callback(req, res);
        return;
      }
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk) => { body += chunk; });
      req.on('end', async () => {
        const n = Number.parseInt(new URLSearchParams(body).get('n') ?? '', 10);
        if (!(n >= 1 && n <= 100000)) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end('n must be 1..100000\n');
          return;
        }
        try {
          const tokens = await seed(n);
          res.writeHead(200, { 'content-type': 'text/plain' }).end(`${tokens.join('\n')}\n`);
        } catch (err) {
          console.error('server.mjs: seed failed', err);
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err}\n`);
        }
      });
    });
  } else {
    server.on('request', callback);
  }

  if (cluster.isWorker) process.send({ port });
  else writePortFile(env('PORT_FILE'), port);
  console.error(`server.mjs: pid ${process.pid} listening on https://${HOST}:${port} (refresh mode, ${ADAPTER} adapter)`);
}
