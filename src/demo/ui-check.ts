/**
 * Checks on the Temporal Web UI over plain HTTP: that it answers, and that it serves a given
 * run (the UI proxies Temporal's HTTP API under /api/v1, so a 200 with the execution there
 * means a browser pointed at the printed URL sees the run).
 */

async function get(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json, text/html' } });
  return { status: res.status, body: await res.text() };
}

/** Waits until the UI's front page answers 200; throws with the last answer otherwise. */
export async function waitForUi(uiUrl: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const r = await get(`${uiUrl}/`, 5_000);
      if (r.status === 200) return;
      last = `HTTP ${r.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the Temporal Web UI at ${uiUrl} did not answer 200 within ${timeoutMs} ms (${last})`);
}

export interface UiRunCheck {
  ok: boolean;
  url: string;
  httpStatus?: number;
  /** WORKFLOW_EXECUTION_STATUS_… as the UI reported it. */
  executionStatus?: string;
  error?: string;
}

/** GETs the run through the UI's API proxy and checks the answer names it. */
export async function uiServesRun(uiUrl: string, namespace: string, workflowId: string): Promise<UiRunCheck> {
  const url = `${uiUrl}/api/v1/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  try {
    const r = await get(url, 10_000);
    if (r.status !== 200) return { ok: false, url, httpStatus: r.status, error: r.body.slice(0, 200) };
    const body = JSON.parse(r.body) as { workflowExecutionInfo?: { execution?: { workflowId?: string }; status?: string } };
    const info = body.workflowExecutionInfo;
    if (info?.execution?.workflowId !== workflowId) return { ok: false, url, httpStatus: 200, error: 'the answer does not describe this workflow' };
    return { ok: true, url, httpStatus: 200, executionStatus: info.status };
  } catch (err) {
    return { ok: false, url, error: (err as Error).message };
  }
}
