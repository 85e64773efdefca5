import Router from '@koa/router';

export function createHealthRouter(deps: { isDatabaseReachable: () => Promise<boolean> }): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const database = await deps.isDatabaseReachable();
    ctx.status = database ? 200 : 503;
    ctx.body = { status: database ? 'ready' : 'unavailable', database: database ? 'ok' : 'unreachable' };
  });
  return router;
}
