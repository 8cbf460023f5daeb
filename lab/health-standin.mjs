// Harbor's /api/v2.0/health and /ping, answered from the real registry's state (lab only).
import { createServer } from 'node:http';

const REGISTRY = process.env.HALAB_REGISTRY_URL ?? 'http://127.0.0.1:5000/v2/';
const PORT = Number(process.env.HALAB_HEALTH_PORT ?? 8080);

async function registryStatus() {
  try {
    const res = await fetch(REGISTRY, { signal: AbortSignal.timeout(800) });
    return res.status === 200 ? { status: 'healthy' } : { status: 'unhealthy', error: `registry answered ${res.status}` };
  } catch (e) {
    return { status: 'unhealthy', error: `failed to ping registry: ${e.cause?.code ?? e.message}` };
  }
}

createServer(async (req, res) => {
  if (req.url === '/api/v2.0/ping') {
    res.end('Pong');
    return;
  }
  const registry = await registryStatus();
  const components = [
    { name: 'core', status: 'healthy' },
    { name: 'database', status: 'healthy' },
    { name: 'redis', status: 'healthy' },
    { name: 'registry', ...registry },
  ];
  const status = components.every((c) => c.status === 'healthy') ? 'healthy' : 'unhealthy';
  // Harbor answers 200 even when unhealthy
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ status, components }));
}).listen(PORT, '127.0.0.1');
