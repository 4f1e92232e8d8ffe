import { silentLogger } from '../common/logger.js'
import { contentStoreContract } from './content-store.contract.js'
import { MemoryContentStore } from './memory-content-store.js'

contentStoreContract('memory', async () => {
  const store = new MemoryContentStore({ logger: silentLogger() })
  await store.open()
  return { store, cleanup: () => store.close() }
})
