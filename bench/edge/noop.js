// The a2-njs-noop variant's handler: what an auth_request subrequest into njs costs
// before any validation work.
function ok(r) {
  r.return(204);
}

export default { ok: ok };
