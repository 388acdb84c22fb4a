// Better Auth, configured the way a Next.js app of ours would configure it: email and password,
// plus the `jwt` plugin, whose tokens (EdDSA, published at /api/auth/jwks) the Django API verifies.
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { jwt } from "better-auth/plugins";
import pg from "pg";

export const port = Number(process.env.PORT ?? 3000);
export const host = process.env.HOST ?? "127.0.0.1";
// The Django API derives the JWKS address from the same value (BETTER_AUTH_URL) and checks the
// tokens' `iss` and `aud` against it: set it to the URL the browser uses for this server.
export const baseURL = (process.env.BETTER_AUTH_URL ?? `http://${host}:${port}`).replace(/\/$/, "");
// Shared with the Django API: it signs and verifies the HS256 tokens (see server.mjs).
export const secret = process.env.BETTER_AUTH_SECRET ?? "";
if (secret.length < 32) {
  throw new Error("Set BETTER_AUTH_SECRET (32 characters or more): the same value as the Django API's.");
}

export const pool = new pg.Pool({
  connectionString: process.env.AUTH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/todo_auth",
  max: 5,
});

export const auth = betterAuth({
  baseURL,
  secret,
  database: pool,
  emailAndPassword: { enabled: true, minPasswordLength: 8 },
  // The session cache cookie as a JWT: HS256 with `secret`, payload {session, user, iat, exp}. It is
  // the one HS256 token Better Auth issues itself, and the API accepts it (TOKEN_KIND=cookie-cache).
  session: { cookieCache: { enabled: true, maxAge: 5 * 60, strategy: "jwt" } },
  telemetry: { enabled: false },
  plugins: [
    // GET /api/auth/token returns {token}: sub = the user's id, iss = aud = baseURL, 15 minutes.
    jwt({ jwt: { expirationTime: "15m" } }),
  ],
});

/** Create or update Better Auth's tables (user, session, account, verification, jwks). */
export async function migrate() {
  const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(auth.options);
  if (toBeCreated.length || toBeAdded.length) {
    console.log(`auth database: creating ${toBeCreated.map((t) => t.table).join(", ") || "columns"}`);
  }
  await runMigrations();
}
