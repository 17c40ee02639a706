#!/usr/bin/env node
// Health probes for the local stack: `node probe.js kafka|cassandra`. Exit 0 when the service really answers.
'use strict';
const target = process.argv[2];
const timeoutMs = Number(process.env.PROBE_TIMEOUT_MS || 5000);
const timer = setTimeout(() => { console.error(`${target}: no answer within ${timeoutMs} ms`); process.exit(1); }, timeoutMs);

async function kafka() {
  const { Kafka, logLevel } = require('kafkajs');
  const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',');
  const admin = new Kafka({ clientId: 'stack-probe', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  await admin.connect();
  const cluster = await admin.describeCluster(); // a metadata request
  await admin.disconnect();
  return `brokers=${cluster.brokers.length} controller=${cluster.controller}`;
}

async function cassandra() {
  const { Client } = require('cassandra-driver');
  const contactPoints = (process.env.CASSANDRA_CONTACT_POINTS || '127.0.0.1:9042').split(',');
  const client = new Client({ contactPoints, localDataCenter: process.env.CASSANDRA_LOCAL_DC || 'datacenter1' });
  await client.connect();
  const rs = await client.execute('SELECT release_version FROM system.local');
  await client.shutdown();
  return `release_version=${rs.first().release_version}`;
}

const probes = { kafka, cassandra };
if (!probes[target]) { console.error('usage: probe.js kafka|cassandra'); process.exit(2); }
probes[target]().then(
  (info) => { clearTimeout(timer); console.log(`${target}: ${info}`); process.exit(0); },
  (err) => { clearTimeout(timer); console.error(`${target}: ${err.message}`); process.exit(1); },
);
