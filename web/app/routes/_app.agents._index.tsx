import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { agentsList } from "../lib/core.server.ts";
import { inOrg } from "../lib/org.server.ts";

export const meta: MetaFunction = () => [{ title: "Agents · GPT Agent Platform" }];

export async function loader({ request }: LoaderFunctionArgs) {
  return inOrg(request, async (trx) => ({ agents: await agentsList(trx) }));
}

export default function Agents() {
  const { agents } = useLoaderData<typeof loader>();
  return (
    <main>
      <h1>Agents</h1>
      <p>
        <Link to="/agents/new" className="button">
          New agent
        </Link>
      </p>
      {agents.length === 0 ? (
        <p className="muted">No agents yet.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Model</th>
                <th scope="col">Status</th>
                <th scope="col" className="optional">
                  Knowledge base
                </th>
              </tr>
            </thead>
            <tbody>
              {agents.map((a) => (
                <tr key={a.id}>
                  <td>
                    <Link to={`/agents/${a.id}`}>{a.name}</Link>
                  </td>
                  <td>{a.model}</td>
                  <td>{a.status}</td>
                  <td className="optional">{a.knowledgeBaseEnabled ? "yes" : "no"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}
