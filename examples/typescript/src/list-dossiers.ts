// npm run list-dossiers: logs in as the development citizen of `make run` and lists their
// dossiers through the typed client. MOTCUA_URL, MOTCUA_LOGIN and MOTCUA_PASSWORD choose others.
import createClient from "openapi-fetch";

import type { paths } from "./api.js";
import { logIn } from "./login.js";

const issuer = process.env.MOTCUA_URL ?? "http://127.0.0.1:8080";

const token = await logIn({
  issuer,
  clientId: process.env.MOTCUA_CLIENT_ID ?? "motcua-portal",
  redirectUri: process.env.MOTCUA_REDIRECT_URI ?? "http://127.0.0.1:5173/callback",
  login: process.env.MOTCUA_LOGIN ?? "038190001234",
  password: process.env.MOTCUA_PASSWORD ?? "Mật-khẩu-2026",
});

const api = createClient<paths>({ baseUrl: issuer, headers: { Authorization: `Bearer ${token}` } });
const { data, error, response } = await api.GET("/v1/dossiers", { params: { query: { page_size: 20 } } });
if (error) {
  console.error(`GET /v1/dossiers: ${response.status}`, error);
  process.exit(1);
}
const dossiers = data.dossiers ?? [];
console.log(`${dossiers.length} dossier(s)`);
for (const dossier of dossiers) {
  console.log(`${dossier.code || "(draft)"}  ${dossier.state}  ${dossier.procedure_id}`);
}
