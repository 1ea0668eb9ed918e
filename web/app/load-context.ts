/** What web/server.ts passes to every loader and action. */
declare module "@remix-run/node" {
  interface AppLoadContext {
    /** This response's Content-Security-Policy nonce. */
    nonce: string;
    /** The client's address (behind a proxy only with TRUST_PROXY), for rate limits. */
    clientIp: string;
  }
}
export {};
