// The AWS SDK for JavaScript v3 against nbpresign over AWS JSON 1.1: presign, describe,
// paginate (an empty page too) and a validation error, as SageMaker answers them.
// Environment: NBPRESIGN_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
// NB_NAME (an InService instance), NB_PREFIX (instances NB_PREFIX-0..NB_COUNT-1).
import assert from "node:assert/strict";
import {
  CreatePresignedNotebookInstanceUrlCommand,
  DescribeNotebookInstanceCommand,
  ListNotebookInstancesCommand,
  SageMakerClient,
  paginateListNotebookInstances,
} from "@aws-sdk/client-sagemaker";

const env = process.env;
const client = new SageMakerClient({
  endpoint: env.NBPRESIGN_ENDPOINT,
  region: env.AWS_REGION,
  credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  maxAttempts: 1,
});

const checks = {
  async presign() {
    const out = await client.send(
      new CreatePresignedNotebookInstanceUrlCommand({
        NotebookInstanceName: env.NB_NAME,
        SessionExpirationDurationInSeconds: 1800,
      }),
    );
    assert.match(out.AuthorizedUrl, /^http:\/\/.+\?authToken=[\w-]+\.[\w-]+\.[\w-]+$/);
  },
  async describe() {
    const out = await client.send(
      new DescribeNotebookInstanceCommand({ NotebookInstanceName: env.NB_NAME }),
    );
    assert.equal(out.NotebookInstanceName, env.NB_NAME);
    assert.equal(out.NotebookInstanceStatus, "InService");
    assert.ok(out.CreationTime instanceof Date && out.CreationTime.getFullYear() >= 2024);
    assert.ok(out.$metadata.requestId);
  },
  async paginate() {
    const names = [];
    let pages = 0;
    const pager = paginateListNotebookInstances(
      { client, pageSize: 2 },
      { NameContains: env.NB_PREFIX, SortBy: "Name" },
    );
    for await (const page of pager) {
      pages += 1;
      names.push(...page.NotebookInstances.map((s) => s.NotebookInstanceName));
    }
    const expected = [...Array(Number(env.NB_COUNT)).keys()].map((i) => `${env.NB_PREFIX}-${i}`);
    assert.deepEqual(names, expected);
    assert.equal(pages, Math.ceil(expected.length / 2));
  },
  async emptyPage() {
    // AWS always sends the list; an absent one reads as undefined here.
    const out = await client.send(
      new ListNotebookInstancesCommand({ NameContains: "no-such-instance-anywhere" }),
    );
    assert.deepEqual(out.NotebookInstances, []);
  },
  async validationError() {
    await assert.rejects(
      client.send(new CreatePresignedNotebookInstanceUrlCommand({ NotebookInstanceName: "a_b" })),
      (error) => {
        assert.equal(error.name, "ValidationException");
        assert.equal(error.$metadata.httpStatusCode, 400);
        assert.ok(error.$metadata.requestId);
        assert.match(error.message, /^1 validation error detected: Value 'a_b' at 'notebookInstanceName'/);
        return true;
      },
    );
  },
};

let failed = 0;
for (const [name, check] of Object.entries(checks)) {
  try {
    await check();
    console.log(`ok ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`FAILED ${name}: ${error.stack || error}`);
  }
}
process.exit(failed ? 1 : 0);
