import type { HeadersFunction, LinksFunction, LoaderFunctionArgs } from "@remix-run/node";
import { data } from "@remix-run/node";
import { isRouteErrorResponse, Links, Meta, Outlet, Scripts, ScrollRestoration, useRouteError } from "@remix-run/react";
import { csrfForRequest } from "./lib/csrf.server.ts";
import { useNonce } from "./lib/nonce.ts";
import stylesheet from "./styles/app.css?url";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: stylesheet }];

/** Every page gets the CSRF token its forms carry (and the cookie it is derived from, the first time). */
export async function loader({ request }: LoaderFunctionArgs) {
  const csrf = await csrfForRequest(request);
  return data({ csrfToken: csrf.token }, csrf.setCookie ? { headers: { "set-cookie": csrf.setCookie } } : undefined);
}

/**
 * A 4xx thrown by a loader or action is rendered by the error boundary here, and only this route's
 * headers function sees the headers it was thrown with: Retry-After of a rate-limit refusal must
 * reach the client.
 */
export const headers: HeadersFunction = ({ errorHeaders }) => {
  const retryAfter = errorHeaders?.get("retry-after");
  const headers = new Headers();
  if (retryAfter) headers.set("retry-after", retryAfter);
  return headers;
};

export function Layout({ children }: { children: React.ReactNode }) {
  const nonce = useNonce();
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body>
        {children}
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

/** Error pages say what happened in plain words and reveal nothing internal (the log has details). */
export function ErrorBoundary() {
  const error = useRouteError();
  let title = "Something went wrong";
  let message = "The page could not be shown. Try again in a moment; if it keeps happening, tell an operator the time it happened.";
  if (isRouteErrorResponse(error)) {
    if (error.status === 404) {
      title = "Not found";
      message = "There is nothing here, or it belongs to another organisation.";
    } else if (error.status === 403) {
      title = "Refused";
      message = typeof error.data?.error === "string" ? error.data.error : "You are not allowed to do that.";
    } else if (error.status === 429) {
      title = "Too many attempts";
      message = typeof error.data?.error === "string" ? error.data.error : "Wait a moment and try again.";
    }
  }
  return (
    <main className="narrow">
      <h1>{title}</h1>
      <p>{message}</p>
      <p>
        <a href="/">Go to the start page</a>
      </p>
    </main>
  );
}
