// @vitest-environment node
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { apiSchemaSource } from './api-schema.js'

it('types the client with the manager\'s current OpenAPI document (npm run generate-api -w console)', async () => {
  const committed = readFileSync(new URL('../src/api/schema.d.ts', import.meta.url), 'utf8')
  expect(committed === await apiSchemaSource(), 'console/src/api/schema.d.ts is stale: run npm run generate-api -w console').toBe(true)
}, 30_000)
