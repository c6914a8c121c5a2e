// Logs a person in at motcua's OIDC provider the way a browser application does (authorization
// code with PKCE S256), but from a script: the login page's form is filled in here instead of
// by the person. A frontend redirects the browser to the authorization URL instead.
import { createHash, randomBytes } from "node:crypto";

export interface LoginOptions {
  issuer: string; // the gateway's URL, the provider's issuer
  clientId: string; // a public client registered with redirectUri
  redirectUri: string;
  login: string;
  password: string;
}

const base64url = (bytes: Buffer): string => bytes.toString("base64url");

function attribute(html: string, pattern: RegExp): string {
  const found = pattern.exec(html);
  if (!found) throw new Error(`the login page has no ${pattern}`);
  return found[1].replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#x27;/g, "'");
}

export async function logIn(options: LoginOptions): Promise<string> {
  const discovery = (await (await fetch(`${options.issuer}/.well-known/openid-configuration`)).json()) as {
    authorization_endpoint: string;
    token_endpoint: string;
  };
  const verifier = base64url(randomBytes(32));
  const challenge = base64url(createHash("sha256").update(verifier).digest());
  const state = base64url(randomBytes(16));
  const authorize = new URL(discovery.authorization_endpoint);
  authorize.search = new URLSearchParams({
    response_type: "code", client_id: options.clientId, redirect_uri: options.redirectUri,
    scope: "openid profile api", state, code_challenge: challenge, code_challenge_method: "S256",
  }).toString();

  const page = await fetch(authorize, { redirect: "manual" });
  if (page.status !== 200) throw new Error(`the authorization endpoint answered ${page.status}`);
  const cookies = page.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const html = await page.text();
  const form = new URLSearchParams();
  for (const hidden of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"/g)) {
    form.set(hidden[1], hidden[2].replace(/&amp;/g, "&"));
  }
  form.set("login", options.login);
  form.set("password", options.password);
  const action = new URL(attribute(html, /<form method="post" action="([^"]*)"/), authorize);
  const submitted = await fetch(action, {
    method: "POST", redirect: "manual", body: form,
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookies },
  });
  const back = submitted.headers.get("location");
  if (submitted.status !== 302 || !back) throw new Error(`the login was refused (${submitted.status})`);
  const answer = new URL(back);
  if (answer.searchParams.get("state") !== state) throw new Error("the provider answered another login");

  const token = await fetch(discovery.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code: answer.searchParams.get("code") ?? "",
      redirect_uri: options.redirectUri, client_id: options.clientId, code_verifier: verifier,
    }),
  });
  const body = (await token.json()) as { access_token?: string; error?: string };
  if (!body.access_token) throw new Error(`no token: ${body.error ?? token.status}`);
  return body.access_token;
}
