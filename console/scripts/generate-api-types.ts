import { writeFileSync } from 'node:fs'
import { apiSchemaSource } from './api-schema.js'

const target = new URL('../src/api/schema.d.ts', import.meta.url)
writeFileSync(target, await apiSchemaSource())
console.log(`wrote ${target.pathname}`)
