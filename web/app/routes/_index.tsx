import type { LoaderFunctionArgs } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { getSession } from "../lib/session.server.ts";

export async function loader({ request }: LoaderFunctionArgs) {
  throw redirect((await getSession(request)) ? "/dashboard" : "/signin");
}
