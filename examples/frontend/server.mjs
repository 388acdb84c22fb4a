// The reference frontend's server: Better Auth under /api/auth/*, one route that signs an HS256
// token with the shared secret, the page's settings, and the built React page (dist/).
//
//   BETTER_AUTH_SECRET=… API_URL=http://127.0.0.1:8000 npm start
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

import { fromNodeHeaders, toNodeHandler } from "better-auth/node";
import { SignJWT } from "jose";

import { auth, baseURL, host, migrate, pool, port, secret } from "./auth.mjs";

const DIST = fileURLToPath(new URL("./dist/", import.meta.url));
const API_URL = (process.env.API_URL ?? "http://127.0.0.1:8000").replace(/\/$/, "");
// Which token the page sends to the API: "jwks" (the jwt plugin's EdDSA token), "hs256" (signed
// here with the shared secret) or "cookie-cache" (Better Auth's own session cache cookie, a JWT).
const TOKEN_KINDS = ["jwks", "hs256", "cookie-cache"];
const TOKEN_KIND = process.env.TOKEN_KIND ?? "jwks";
if (!TOKEN_KINDS.includes(TOKEN_KIND)) throw new Error(`TOKEN_KIND must be one of ${TOKEN_KINDS.join(", ")}`);
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
};
const SECURITY_HEADERS = {
  "content-security-policy": `default-src 'self'; connect-src 'self' ${API_URL}; frame-ancestors 'none'`,
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

const authHandler = toNodeHandler(auth);

function sendJson(res, status, body) {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...SECURITY_HEADERS });
  res.end(JSON.stringify(body));
}

// What a Next.js route handler would do for an API that shares BETTER_AUTH_SECRET: check the
// session cookie, then sign a short-lived token for that user.
async function hs256Token(req, res) {
  const session = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) });
  if (!session) return sendJson(res, 401, { detail: "Not signed in." });
  const token = await new SignJWT({ email: session.user.email })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(session.user.id)
    .setIssuer(baseURL)
    .setAudience(baseURL)
    .setIssuedAt()
    .setExpirationTime("15m")
    .sign(new TextEncoder().encode(secret));
  return sendJson(res, 200, { token });
}

// Better Auth's session cache cookie is HttpOnly, so the page cannot read it: hand it over from here,
// refreshed by getSession when it has expired (a Next.js route handler would do the same).
async function cookieCacheToken(req, res) {
  const { authCookies } = await auth.$context;
  const name = authCookies.sessionData.name;
  const { headers, response } = await auth.api.getSession({
    headers: fromNodeHeaders(req.headers),
    returnHeaders: true,
  });
  if (!response) return sendJson(res, 401, { detail: "Not signed in." });
  const setCookies = headers.getSetCookie();
  const fresh = setCookies.find((cookie) => cookie.startsWith(`${name}=`));
  const sent = (req.headers.cookie ?? "").split(/;\s*/).find((cookie) => cookie.startsWith(`${name}=`));
  const token = (fresh ?? sent ?? "").split(";")[0].slice(name.length + 1);
  if (!token) return sendJson(res, 401, { detail: "No session cache cookie: sign in again." });
  if (setCookies.length) res.setHeader("set-cookie", setCookies);
  return sendJson(res, 200, { token: decodeURIComponent(token) });
}

async function staticFile(req, res) {
  const path = decodeURIComponent(new URL(req.url, baseURL).pathname);
  let file = normalize(join(DIST, path));
  if (!file.startsWith(DIST)) return sendJson(res, 404, { detail: "Not found." });
  let info = await stat(file).catch(() => null);
  if (!info?.isFile()) {
    if (extname(path)) return sendJson(res, 404, { detail: "Not found." });
    file = join(DIST, "index.html"); // the page's own routes
    info = await stat(file).catch(() => null);
    if (!info) return sendJson(res, 500, { detail: "The page is not built: run `npm run build`." });
  }
  const immutable = file.startsWith(`${DIST}assets${sep}`); // Vite puts a hash in these names
  res.writeHead(200, {
    "content-type": TYPES[extname(file)] ?? "application/octet-stream",
    "content-length": info.size,
    "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    ...SECURITY_HEADERS,
  });
  createReadStream(file).pipe(res);
}

const server = createServer(async (req, res) => {
  try {
    const { pathname } = new URL(req.url, baseURL);
    if (pathname.startsWith("/api/auth/")) return await authHandler(req, res);
    if (pathname === "/token/hs256" && req.method === "GET") return await hs256Token(req, res);
    if (pathname === "/token/cookie-cache" && req.method === "GET") return await cookieCacheToken(req, res);
    if (pathname === "/config.json") return sendJson(res, 200, { apiUrl: API_URL, tokenKind: TOKEN_KIND });
    if (req.method !== "GET" && req.method !== "HEAD") return sendJson(res, 405, { detail: "Method not allowed." });
    return await staticFile(req, res);
  } catch (error) {
    console.error(`${req.method} ${req.url?.split("?")[0]}: ${error?.stack ?? error}`);
    if (!res.headersSent) sendJson(res, 500, { detail: "Internal error." });
    else res.destroy();
  }
});

await migrate();
server.listen(port, host, () => {
  console.log(`Reference frontend on ${baseURL} (API ${API_URL}, ${TOKEN_KIND} tokens)`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.close(() => pool.end().then(() => process.exit(0))));
}
