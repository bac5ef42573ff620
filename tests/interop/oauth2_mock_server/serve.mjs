// Starts oauth2-mock-server (an OAuth 2 server someone else wrote) on 127.0.0.1 for Plugboard's
// interop tests, and reports what it received as JSON lines on stdout: how each token request
// authenticated the client, its grant type, and whether it carried a PKCE verifier.
import { OAuth2Server } from "oauth2-mock-server";

const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");

const say = (event) => console.log(JSON.stringify(event));

server.service.on("beforeResponse", (response, req) => {
  const body = req.body ?? {};
  const basic = (req.headers.authorization ?? "").startsWith("Basic ");
  say({
    event: "token",
    grant_type: body.grant_type,
    client_auth: basic ? "client_secret_basic" : body.client_secret ? "client_secret_post" : "none",
    pkce: "code_verifier" in body,
    status: response.statusCode,
  });
});
server.service.on("beforeRevoke", (_response, req) => {
  say({ event: "revoke", basic: (req.headers.authorization ?? "").startsWith("Basic ") });
});

await server.start(0, "127.0.0.1");
say({ event: "listening", url: server.issuer.url });
process.on("SIGTERM", async () => {
  await server.stop();
  process.exit(0);
});
