import { escapeHtml } from '../http/respond.ts';

export interface LoginPageInput {
  /** Authorization request parameters carried through the POST as hidden fields. */
  params: Array<[string, string]>;
  csrfToken: string;
  clientId: string;
  username?: string;
  error?: string;
}

// URLs are relative so that the pages also work when nginx serves the service
// under a path prefix (/_auth/authorize -> /_auth/assets/login.css).

/** Accessible login form: labelled fields, autocomplete hints, errors announced with role=alert, no scripts. */
export function loginPage(p: LoginPageInput): string {
  const hidden = p.params.map(([k, v]) => `    <input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('\n');
  const error = p.error ? `  <p class="error" role="alert" id="login-error">${escapeHtml(p.error)}</p>\n` : '';
  const describedBy = p.error ? ' aria-describedby="login-error" aria-invalid="true"' : '';
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in</title>
  <link rel="stylesheet" href="assets/login.css">
</head>
<body>
<main>
  <h1>Sign in</h1>
  <p>to continue to <strong>${escapeHtml(p.clientId)}</strong></p>
${error}  <form method="post" action="authorize">
${hidden}
    <input type="hidden" name="csrf_token" value="${escapeHtml(p.csrfToken)}">
    <div class="field">
      <label for="username">Username</label>
      <input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${escapeHtml(p.username ?? '')}"${describedBy}>
    </div>
    <div class="field">
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required${describedBy}>
    </div>
    <button type="submit">Sign in</button>
  </form>
</main>
</body>
</html>
`;
}

export const LOGIN_CSS = `body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d1f23}
main{max-width:22rem;margin:10vh auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.5rem;margin-top:0}.field{margin:1rem 0}label{display:block;font-weight:600;margin-bottom:.25rem}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #6b7280;border-radius:4px}
input:focus,button:focus{outline:3px solid #2563eb;outline-offset:2px}
button{width:100%;padding:.6rem;font-size:1rem;background:#1d4ed8;color:#fff;border:0;border-radius:4px;cursor:pointer}
.error{color:#9b1c1c;background:#fde8e8;padding:.5rem;border-radius:4px}
`;
