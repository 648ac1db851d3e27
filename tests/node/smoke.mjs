// The official openai Node SDK against a running `runlife serve` (plain ESM, no build step).
//
//   OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 OPENAI_API_KEY=KEY node smoke.mjs sdk|order
//
// `sdk`: threads (create, retrieve, update, delete), runs one after another on one thread,
// `runs.list` auto-pagination (`for await`, limit 3, both orders: every run once, by creation
// time), `runs.update`, a submit_tool_outputs round trip, `threads.createAndRunPoll` to a
// terminal status (directly, and through requires_action), `_request_id` / x-request-id on
// every answer, errors as `NotFoundError`, and each run's keys in the API's order.
// `order`: runs created within the same second are listed in creation order, in both orders.
//
// Prints one `ok` line per check; on the first failure prints it and exits 1. tests/serve/
// test_node_sdk.py starts the server and runs this (`npm ci` in this folder installs the SDK).

import assert from "node:assert/strict";
import OpenAI from "openai";

const WATCHDOG_MS = 60_000;
const LIMIT = 3; // a small page, so that listing takes several requests
const RUNS = 12; // created one after another, most within the same second
const TOOLS = [{ type: "function", function: { name: "get_weather" } }];
const REQUEST_ID = /^req_[0-9a-f]{32}$/;
// The top-level keys of a thread.run, in the order the API writes them.
const API_ORDER = [
  "id", "object", "created_at", "assistant_id", "thread_id", "status", "started_at",
  "expires_at", "cancelled_at", "failed_at", "completed_at", "required_action", "last_error",
  "model", "instructions", "tools", "tool_resources", "metadata", "temperature", "top_p",
  "reasoning_effort", "max_completion_tokens", "max_prompt_tokens", "truncation_strategy",
  "incomplete_details", "usage", "response_format", "tool_choice", "parallel_tool_calls",
];

const requests = []; // every URL the SDK fetched, in order
const client = new OpenAI({
  maxRetries: 0,
  timeout: 20_000,
  fetch: (url, init) => {
    requests.push(String(url));
    return fetch(url, init);
  },
});
const threads = client.beta.threads;
const runs = client.beta.threads.runs;

function ok(what) {
  console.log(`ok - ${what}`);
}

function hasRequestId(value, what) {
  assert.match(String(value._request_id), REQUEST_ID, `${what}: _request_id`);
}

function inApiOrder(run, what) {
  const keys = Object.keys(run);
  assert.deepEqual(keys, API_ORDER.filter((k) => keys.includes(k)), `${what}: key order`);
  assert.deepEqual(keys.filter((k) => !API_ORDER.includes(k)), [], `${what}: unknown keys`);
}

/** Runs of *threadId*, one after another, each polled to completed; their ids. */
async function runsInARow(threadId, count) {
  const ids = [];
  for (let i = 0; i < count; i += 1) {
    const run = await runs.createAndPoll(threadId, { assistant_id: "asst_node" });
    assert.equal(run.status, "completed", `run ${i}: ${JSON.stringify(run)}`);
    ids.push(run.id);
  }
  return ids;
}

/** Every run of *threadId* through auto-pagination, and the list requests it took. */
async function listAll(threadId, order) {
  const start = requests.length;
  const listed = [];
  for await (const run of runs.list(threadId, { limit: LIMIT, order })) {
    listed.push(run);
  }
  const pages = requests.slice(start).filter((url) => url.includes(`/threads/${threadId}/runs?`));
  return { listed, pages };
}

async function checkSdk() {
  const thread = await threads.create({ metadata: { sdk: "node" } });
  assert.match(thread.id, /^thread_/);
  hasRequestId(thread, "threads.create");
  ok(`threads.create ${thread.id}`);

  const { data, response, request_id } = await threads.retrieve(thread.id).withResponse();
  assert.deepEqual(data.metadata, { sdk: "node" });
  assert.match(String(request_id), REQUEST_ID);
  assert.equal(response.headers.get("x-request-id"), request_id);
  ok("threads.retrieve, with x-request-id");

  const created = await runsInARow(thread.id, RUNS);
  ok(`${RUNS} runs created one after another, each completed (runs.createAndPoll)`);

  const lists = {};
  for (const order of ["asc", "desc"]) {
    const { listed, pages } = await listAll(thread.id, order);
    const ids = listed.map((run) => run.id);
    assert.equal(new Set(ids).size, ids.length, `${order}: a run listed twice: ${ids}`);
    assert.deepEqual([...ids].sort(), [...created].sort(), `${order}: not every run once`);
    assert.equal(pages.length, Math.ceil(RUNS / LIMIT), `${order}: pages ${pages.join(" ")}`);
    pages.slice(1).forEach((url) => assert.match(url, /[?&]after=run_/));
    const times = listed.map((run) => run.created_at);
    const sorted = [...times].sort((a, b) => (order === "asc" ? a - b : b - a));
    assert.deepEqual(times, sorted, `${order}: not by created_at`);
    listed.forEach((run) => inApiOrder(run, `runs.list ${order}`));
    lists[order] = ids;
    ok(`runs.list order=${order}: ${ids.length} runs in ${pages.length} pages, by created_at`);
  }
  assert.deepEqual(lists.desc, [...lists.asc].reverse());
  ok("runs.list desc is asc reversed");

  const retrieved = await runs.retrieve(created[0], { thread_id: thread.id });
  assert.equal(retrieved.id, created[0]);
  hasRequestId(retrieved, "runs.retrieve");
  inApiOrder(retrieved, "runs.retrieve");
  const updated = await runs.update(created[0], {
    thread_id: thread.id,
    metadata: { note: "from node" },
  });
  assert.deepEqual(updated.metadata, { note: "from node" });
  assert.equal(updated.status, "completed");
  hasRequestId(updated, "runs.update");
  ok("runs.retrieve, runs.update (metadata)");

  const waiting = await runs.createAndPoll(thread.id, { assistant_id: "asst_node", tools: TOOLS });
  assert.equal(waiting.status, "requires_action");
  inApiOrder(waiting, "requires_action run");
  const calls = waiting.required_action.submit_tool_outputs.tool_calls;
  assert.deepEqual(
    calls.map((call) => [call.type, call.function.name, call.function.arguments]),
    [["function", "get_weather", "{}"]],
  );
  const done = await runs.submitToolOutputsAndPoll(waiting.id, {
    thread_id: thread.id,
    tool_outputs: calls.map((call) => ({ tool_call_id: call.id, output: "21" })),
  });
  assert.equal(done.status, "completed");
  assert.deepEqual(done.usage, { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 });
  assert.equal(done.required_action, null);
  hasRequestId(done, "runs.submitToolOutputsAndPoll");
  ok("submit_tool_outputs round trip: requires_action -> completed, usage 1+1=2");

  const steps = [];
  for await (const step of runs.steps.list(done.id, { thread_id: thread.id, order: "asc", limit: 1 })) {
    steps.push(step);
  }
  assert.deepEqual(
    steps.map((step) => [step.type, step.status]),
    [["tool_calls", "completed"], ["message_creation", "completed"]],
  );
  assert.equal(steps[0].step_details.tool_calls[0].function.output, "21");
  ok("runs.steps.list (for await, pages of 1): the tool_calls step with its output, then the message");

  const direct = await threads.createAndRunPoll({
    assistant_id: "asst_node",
    thread: { metadata: { via: "createAndRunPoll" } },
  });
  assert.equal(direct.status, "completed");
  hasRequestId(direct, "threads.createAndRunPoll");
  const ran = await threads.retrieve(direct.thread_id);
  assert.deepEqual(ran.metadata, { via: "createAndRunPoll" });
  ok(`threads.createAndRunPoll: ${direct.status} on a new thread ${direct.thread_id}`);

  const asked = await threads.createAndRunPoll({ assistant_id: "asst_node", tools: TOOLS });
  assert.equal(asked.status, "requires_action");
  const answered = await runs.submitToolOutputsAndPoll(asked.id, {
    thread_id: asked.thread_id,
    tool_outputs: asked.required_action.submit_tool_outputs.tool_calls.map((call) => ({
      tool_call_id: call.id,
      output: "21",
    })),
  });
  assert.equal(answered.status, "completed");
  ok("threads.createAndRunPoll with a tool: requires_action, then completed");

  const renamed = await threads.update(thread.id, { metadata: { sdk: "node", step: "2" } });
  assert.deepEqual(renamed.metadata, { sdk: "node", step: "2" });
  hasRequestId(renamed, "threads.update");
  const deleted = await threads.delete(thread.id);
  assert.deepEqual({ ...deleted }, { id: thread.id, object: "thread.deleted", deleted: true });
  hasRequestId(deleted, "threads.delete");
  await assert.rejects(threads.retrieve(thread.id), (error) => {
    assert.ok(error instanceof OpenAI.NotFoundError, String(error));
    assert.equal(error.status, 404);
    assert.match(String(error.requestID), REQUEST_ID);
    return true;
  });
  ok("threads.update, threads.delete; then retrieve is a NotFoundError with a request id");
}

async function checkOrder() {
  const thread = await threads.create();
  const created = await runsInARow(thread.id, RUNS);
  const { listed: asc } = await listAll(thread.id, "asc");
  const seconds = new Set(asc.map((run) => run.created_at));
  ok(`${RUNS} runs created one after another, within ${seconds.size} distinct second(s)`);
  assert.deepEqual(
    asc.map((run) => run.id),
    created,
    "runs.list order=asc is not the creation order",
  );
  ok("runs.list order=asc: creation order");
  const { listed: desc } = await listAll(thread.id, "desc");
  assert.deepEqual(
    desc.map((run) => run.id),
    [...created].reverse(),
    "runs.list order=desc is not the reverse creation order",
  );
  ok("runs.list order=desc: reverse creation order");
}

const checks = { sdk: checkSdk, order: checkOrder };
const name = process.argv[2];
if (!(name in checks)) {
  console.error(`usage: node smoke.mjs ${Object.keys(checks).join("|")}`);
  process.exit(2);
}
const watchdog = setTimeout(() => {
  console.error(`not ok - ${name} did not finish within ${WATCHDOG_MS / 1000} s`);
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();
try {
  await checks[name]();
  console.log(`all ${name} checks passed`);
} catch (error) {
  console.error(`not ok - ${error.stack ?? error}`);
  process.exitCode = 1;
}
