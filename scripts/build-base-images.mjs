#!/usr/bin/env node
// Builds the local base images of docker-compose.local.yml from Debian packages
// (debootstrap + docker import, then apt-get in a Dockerfile), for machines that
// cannot pull node, nginx, redis or debian images from Docker Hub. Needs root
// (debootstrap) and a running Docker engine: $DOCKER_HOST, else /var/run/docker.sock,
// else the engine the tests start (/run/ljwt-docker.sock).
// Unchanged recipes are not rebuilt: each image is tagged by a hash of its inputs.
import { existsSync } from 'node:fs';
import { ensureComposeBases } from './lib/debian-images.mjs';

const host = process.env.DOCKER_HOST ||
  `unix://${['/var/run/docker.sock', '/run/ljwt-docker.sock'].find((s) => existsSync(s)) ?? '/var/run/docker.sock'}`;
const t0 = Date.now();
const tags = await ensureComposeBases(host);
for (const [alias, tag] of Object.entries(tags)) console.log(`${alias} -> ${tag}`);
console.log(`local base images ready in ${Math.round((Date.now() - t0) / 1000)} s`);
