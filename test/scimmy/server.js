// A SCIM 2.0 service provider built on SCIMMY and its express routers, used
// as an independent target by the scim connector tests of scim-bridge.
//
// Users live in memory for the life of the process; userName is unique,
// compared case-insensitively (RFC 7643 section 4.1.1). Requests must carry
// "Authorization: Bearer <token>" with the token from SCIMMY_TOKEN.
//
// Options (environment):
//   SCIMMY_TOKEN           required; the bearer token clients must present
//   SCIMMY_PORT            port to listen on, 0 (default) for any free port
//   SCIMMY_PATCH           "false" advertises no PATCH support
//   SCIMMY_BULK_MAX_OPS    maximum bulk operations; "0" advertises no Bulk
//
// When ready it prints one line to stdout: "scimmy listening on port <n>".
import crypto from "node:crypto";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const token = process.env.SCIMMY_TOKEN ?? "";
if (token === "") {
    console.error("scimmy: SCIMMY_TOKEN must be set");
    process.exit(2);
}
const port = Number(process.env.SCIMMY_PORT ?? "0");
const patch = process.env.SCIMMY_PATCH !== "false";
const bulkMaxOps = Number(process.env.SCIMMY_BULK_MAX_OPS ?? "10");

// users maps id to the stored user, as SCIMMY hands it over on ingress plus
// the id and meta the server owns.
const users = new Map();

function sameName(a, b) {
    return String(a).toLowerCase() === String(b).toLowerCase();
}

function ingress(resource, instance) {
    // Serialising drops SCIMMY's class wrappers and leaves plain JSON data.
    const data = JSON.parse(JSON.stringify(instance));
    delete data.id;
    delete data.meta;

    const taken = [...users.values()].some(
        (u) => u.id !== resource.id && sameName(u.userName, data.userName));
    if (taken) {
        throw new SCIMMY.Types.Error(409, "uniqueness",
            `userName ${data.userName} is already taken`);
    }

    const now = new Date();
    if (resource.id) {
        const old = users.get(resource.id);
        if (!old) {
            throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
        }
        const user = {...data, id: old.id,
            meta: {created: old.meta.created, lastModified: now}};
        users.set(user.id, user);
        return user;
    }
    const user = {...data, id: crypto.randomUUID(), meta: {created: now, lastModified: now}};
    users.set(user.id, user);
    return user;
}

function egress(resource) {
    if (resource.id) {
        const user = users.get(resource.id);
        if (!user) {
            throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
        }
        return user;
    }
    const all = [...users.values()];
    return resource.filter ? resource.filter.match(all) : all;
}

function degress(resource) {
    if (!users.delete(resource.id)) {
        throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
    }
}

SCIMMY.Resources.declare(SCIMMY.Resources.User)
    .extend(SCIMMY.Schemas.EnterpriseUser, false)
    .ingress(ingress)
    .egress(egress)
    .degress(degress);

const routers = new SCIMMYRouters({
    type: "bearer",
    handler: (req) => {
        if (req.header("Authorization") !== `Bearer ${token}`) {
            throw new Error("Authorization failed");
        }
        return "scimmy-test-client";
    },
});

// The routers advertise PATCH and Bulk on construction; narrow that to what
// this run was asked to offer.
SCIMMY.Config.set({patch});
if (bulkMaxOps > 0) {
    SCIMMY.Config.set({bulk: {supported: true, maxOperations: bulkMaxOps}});
} else {
    SCIMMY.Config.set({bulk: false});
}

const app = express();
app.use("/scim/v2", routers);

const server = app.listen(port, "127.0.0.1", () => {
    console.log(`scimmy listening on port ${server.address().port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => server.close(() => process.exit(0)));
}
