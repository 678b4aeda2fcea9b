// grpc-js with @grpc/proto-loader and @smithy/signature-v4 against nbpresign over gRPC:
// presign, and rich errors decoded from grpc-status-details-bin (google.rpc.Status).
// Each call is signed as the README says: POST <method path>, host grpc.nbpresign, the
// scope's region the server's --region, and the payload hash over the exact bytes sent
// (so the message is serialized once, here, and sent as those bytes).
// Environment: NBPRESIGN_GRPC (host:port), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_REGION, NB_NAME, PROTO_PATH (protos/, googleapis' and protobuf's include folders,
// joined by ':').
import assert from "node:assert/strict";
import { Sha256 } from "@aws-crypto/sha256-js";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
import { SignatureV4 } from "@smithy/signature-v4";
import protobuf from "protobufjs";

const env = process.env;
const includeDirs = env.PROTO_PATH.split(":");
const definitions = protoLoader.loadSync(["nbpresign/v1/presign.proto"], {
  includeDirs,
  keepCase: true, // the proto field names, as in the .proto
  longs: String,
  defaults: true,
});
const presign = definitions["nbpresign.v1.PresignService"].CreatePresignedNotebookInstanceUrl;

const root = new protobuf.Root();
root.resolvePath = (_, target) => {
  for (const dir of includeDirs) {
    const candidate = `${dir}/${target}`;
    if (protobuf.util.fs.existsSync(candidate)) return candidate;
  }
  return target;
};
root.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"]);
const Status = root.lookupType("google.rpc.Status");

const signer = new SignatureV4({
  service: "sagemaker",
  region: env.AWS_REGION,
  credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  sha256: Sha256,
});
const client = new grpc.Client(env.NBPRESIGN_GRPC, grpc.credentials.createInsecure());

async function call(method, request) {
  const bytes = method.requestSerialize(request);
  const signed = await signer.sign({
    method: "POST",
    protocol: "https:",
    hostname: "grpc.nbpresign",
    path: method.path,
    headers: { host: "grpc.nbpresign" },
    body: bytes,
  });
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(signed.headers)) {
    if (name.toLowerCase() !== "host") metadata.set(name.toLowerCase(), value);
  }
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method.path,
      (buffer) => buffer, // already serialized: these are the bytes the signature covers
      method.responseDeserialize,
      bytes,
      metadata,
      (error, response) => (error ? reject(error) : resolve(response)),
    );
  });
}

function richStatus(error) {
  const [raw] = error.metadata.get("grpc-status-details-bin");
  assert.ok(raw, "no grpc-status-details-bin");
  const status = Status.decode(raw);
  const details = status.details.map((any) => {
    const type = root.lookupType(any.type_url.split("/").pop());
    return { type: type.fullName, ...type.toObject(type.decode(any.value)) };
  });
  return { code: status.code, message: status.message, details };
}

const checks = {
  async presign() {
    const out = await call(presign, {
      notebook_instance_name: env.NB_NAME,
      session_expiration_duration_in_seconds: 3600,
    });
    assert.match(out.authorized_url, /\?authToken=[\w-]+\.[\w-]+\.[\w-]+$/);
  },
  async notFound() {
    await assert.rejects(call(presign, { notebook_instance_name: `missing-${env.NB_NAME}` }), (error) => {
      assert.equal(error.code, grpc.status.NOT_FOUND);
      const status = richStatus(error);
      assert.equal(status.message, "RecordNotFound");
      const info = status.details.find((d) => d.type === ".google.rpc.ErrorInfo");
      assert.deepEqual([info.reason, info.domain], ["ValidationException", "nbpresign.v1"]);
      return true;
    });
  },
  async validationError() {
    await assert.rejects(call(presign, { notebook_instance_name: "a_b" }), (error) => {
      assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
      const status = richStatus(error);
      const bad = status.details.find((d) => d.type === ".google.rpc.BadRequest");
      assert.equal(bad.fieldViolations[0].field, "notebook_instance_name");
      assert.match(bad.fieldViolations[0].description, /^Value 'a_b' at 'notebookInstanceName' failed to satisfy constraint/);
      return true;
    });
  },
  async unsigned() {
    const bytes = presign.requestSerialize({ notebook_instance_name: env.NB_NAME });
    await assert.rejects(
      new Promise((resolve, reject) =>
        client.makeUnaryRequest(presign.path, (b) => b, presign.responseDeserialize, bytes,
          new grpc.Metadata(), (e, r) => (e ? reject(e) : resolve(r))),
      ),
      (error) => error.code === grpc.status.UNAUTHENTICATED,
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
client.close();
process.exit(failed ? 1 : 0);
