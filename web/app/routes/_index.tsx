import type { MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { workerInstancesAlive } from "../../../core/jobs/worker-instances.ts";
import { PLATFORM_VERSION } from "../../../core/version.ts";
import { getPlatform } from "../lib/platform.server.ts";

export const meta: MetaFunction = () => [{ title: "GPT Agent Platform" }];

export async function loader() {
  const { config, db } = getPlatform();
  const workers = await workerInstancesAlive(db.owner, 30);
  return {
    version: PLATFORM_VERSION,
    workerUrl: config.WORKER_PUBLIC_URL,
    workersAlive: workers.length,
  };
}

export default function Index() {
  const { version, workerUrl, workersAlive } = useLoaderData<typeof loader>();
  return (
    <main>
      <h1>GPT Agent Platform</h1>
      <p>
        Version {version}. <strong data-testid="workers-alive">{workersAlive}</strong> worker process{workersAlive === 1 ? "" : "es"} running.
      </p>
      <ul>
        <li>
          Jobs API and its OpenAPI document: <a href={`${workerUrl}/api-docs`}>{workerUrl}/api-docs</a>
        </li>
        <li>
          Worker health: <a href={`${workerUrl}/health/ready`}>{workerUrl}/health/ready</a>
        </li>
      </ul>
      <p>Accounts, the operations dashboard and the jobs console arrive with the web app&apos;s own release.</p>
    </main>
  );
}
