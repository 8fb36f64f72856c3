// Operator endpoints: trigger a group sync, read a user's groups. They exist only
// when service/adminGroup is configured; otherwise their paths are unknown (404).
import type { Router } from '../http/router.ts';
import type { ServiceContext } from '../oauth/context.ts';
import { adminGroupsEndpoint } from './groups.ts';
import { adminSyncEndpoint } from './sync.ts';

export function registerAdminRoutes(router: Router, ctx: ServiceContext): void {
  const adminGroupDn = ctx.config.adminGroupDn;
  if (adminGroupDn === undefined) return;
  router
    .on('POST', '/admin/sync', (req, res) => adminSyncEndpoint(ctx, adminGroupDn, req, res))
    .on('GET', '/admin/groups', (req, res, url) => adminGroupsEndpoint(ctx, adminGroupDn, req, res, url));
}
