import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DamselflyError } from './damselfly-error.js'
import { isTaskId } from './ids.js'
import { DEFAULT_FILTERED_QUERY_PARAMS, filterUrl, ociBlobDigest, taskIdFor, type TaskIdInput } from './task-id.js'

const TEST = { timeout: 10_000 }

// Every expected id below was computed outside this code, e.g.
//   printf 'url:https://example.com/files/app.tar.gz\n' | sha256sum
const PLAIN_URL = 'https://example.com/files/app.tar.gz'
const PLAIN_ID = '230c8c6c0de6bea2a4891f6880b2a40c00899d8014155fe669c531fb9fafc820'
/** printf 'layer' | sha256sum */
const LAYER_HEX = 'dac1d7cfa95021764849fd102524e141488c5e3a90f861dbb5a12d9ac8584f85'
/** printf 'oci-blob:sha256:<LAYER_HEX>\n' | sha256sum */
const LAYER_BLOB_ID = '3f6d0d11c78dab202441b9a9993540d94543adc7beef80889f8c8c0a647b0378'

interface Vector {
  readonly name: string
  readonly input: TaskIdInput
  /** The canonical text hashed, for the reader; the id is its sha256. */
  readonly canonical: string
  readonly id: string
}

const VECTORS: readonly Vector[] = [
  {
    name: 'plain URL with a query',
    input: { url: 'http://example.com/a?b=1' },
    canonical: 'url:http://example.com/a?b=1\n',
    id: '2d087a47e4e1f400d758684c50e9521d3d7e787c8b5a2bef1662c70b867af674',
  },
  { name: 'plain URL without a query', input: { url: PLAIN_URL }, canonical: `url:${PLAIN_URL}\n`, id: PLAIN_ID },
  {
    name: 'tag',
    input: { url: PLAIN_URL, tag: 'v1' },
    canonical: `url:${PLAIN_URL}\ntag:v1\n`,
    id: '1da9ad86702ab6fc3c624cb1a01cb42b66527fa1289a20a236b0cb562d955bcb',
  },
  {
    name: 'application',
    input: { url: PLAIN_URL, application: 'ci' },
    canonical: `url:${PLAIN_URL}\napplication:ci\n`,
    id: '40175ef1ec6e17b582a006f8b352789573d865ca318c3470553dc1ad4467a9a5',
  },
  {
    name: 'fixed piece length',
    input: { url: PLAIN_URL, pieceLengthBytes: 8 * 1024 * 1024 },
    canonical: `url:${PLAIN_URL}\npiece-length:8388608\n`,
    id: 'b25f8d2aa7532f1f011f3d19327a4883e11f2fcbc2492b0db40241fac0582b97',
  },
  {
    name: 'tag, application and piece length together',
    input: { url: PLAIN_URL, tag: 'v1', application: 'ci', pieceLengthBytes: 8 * 1024 * 1024 },
    canonical: `url:${PLAIN_URL}\ntag:v1\napplication:ci\npiece-length:8388608\n`,
    id: 'a12e38f2037db819d66b6a2739d5cdd4b353d49e6dee95aabfa0f87b7e6cb8e6',
  },
  {
    name: 'other query parameters keep their order',
    input: { url: 'https://bucket.s3.amazonaws.com/k?z=1&X-Amz-Signature=abc&a=2' },
    canonical: 'url:https://bucket.s3.amazonaws.com/k?z=1&a=2\n',
    id: 'a7cc3b702fb5596598166e3e569e065aa61e3176c7dc4062e55a80bf29061328',
  },
  {
    name: 'OCI blob',
    input: { url: `https://registry-1.docker.io/v2/library/alpine/blobs/sha256:${LAYER_HEX}` },
    canonical: `oci-blob:sha256:${LAYER_HEX}\n`,
    id: LAYER_BLOB_ID,
  },
  {
    name: 'OCI blob with a tag',
    input: { url: `https://registry-1.docker.io/v2/library/alpine/blobs/sha256:${LAYER_HEX}`, tag: 'v1' },
    canonical: `oci-blob:sha256:${LAYER_HEX}\ntag:v1\n`,
    id: '14d77491729ac25b7eeedb47e40b38e3d585df22ffe75dd5dbda55aa0d84a007',
  },
  {
    name: 'OCI manifest is a plain URL',
    input: { url: `https://registry-1.docker.io/v2/library/alpine/manifests/sha256:${LAYER_HEX}` },
    canonical: `url:https://registry-1.docker.io/v2/library/alpine/manifests/sha256:${LAYER_HEX}\n`,
    id: '3271e279a66dd0621592b767024cfee28f7bf519f442205ba344adc5bdd55c09',
  },
  {
    name: 'custom filtered list drops only its own keys',
    input: { url: 'https://example.com/a?keep=1&drop=2&ns=x', filteredQueryParams: ['drop'] },
    canonical: 'url:https://example.com/a?keep=1&ns=x\n',
    id: '913153d83f6664822345c7fc263233d5bbe00277cd032ffab9dbfd01e38c6164',
  },
]

describe('taskIdFor: fixed vectors', TEST, () => {
  for (const vector of VECTORS) {
    it(vector.name, TEST, () => {
      const id = taskIdFor(vector.input)
      assert.equal(id, vector.id, `canonical input ${JSON.stringify(vector.canonical)}`)
      assert.ok(isTaskId(id))
    })
  }
})

describe('taskIdFor: filtered query parameters', TEST, () => {
  const signed: ReadonlyArray<{ name: string; url: string; unsigned: string }> = [
    {
      name: 'S3 presigned',
      url: 'https://bucket.s3.amazonaws.com/k?z=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20240101&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=abc&X-Amz-Security-Token=t&a=2',
      unsigned: 'https://bucket.s3.amazonaws.com/k?z=1&a=2',
    },
    {
      name: 'GCS signed',
      url: 'https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=c&X-Goog-Date=d&X-Goog-Expires=60&X-Goog-SignedHeaders=host&X-Goog-Signature=s&generation=7',
      unsigned: 'https://storage.googleapis.com/b/o?generation=7',
    },
    {
      name: 'OSS signed',
      url: 'https://b.oss-cn-hangzhou.aliyuncs.com/o?OSSAccessKeyId=k&Expires=1700000000&Signature=s&SecurityToken=t',
      unsigned: 'https://b.oss-cn-hangzhou.aliyuncs.com/o',
    },
    {
      name: 'OBS signed',
      url: 'https://b.obs.myhuaweicloud.com/o?AccessKeyId=k&X-Obs-Date=d&X-Obs-Security-Token=t&versionId=3',
      unsigned: 'https://b.obs.myhuaweicloud.com/o?versionId=3',
    },
    {
      name: 'COS signed',
      url: 'https://b.cos.ap-guangzhou.myqcloud.com/o?q-sign-algorithm=sha1&q-ak=k&q-sign-time=1;2&q-key-time=1;2&q-header-list=host&q-url-param-list=&q-signature=s&x-cos-security-token=t',
      unsigned: 'https://b.cos.ap-guangzhou.myqcloud.com/o',
    },
    {
      name: "containerd's ns",
      url: 'http://example.com/a?b=1&ns=docker.io',
      unsigned: 'http://example.com/a?b=1',
    },
  ]
  for (const { name, url, unsigned } of signed) {
    it(`${name}: same id as the URL without them`, TEST, () => {
      assert.equal(taskIdFor({ url }), taskIdFor({ url: unsigned }))
      assert.equal(filterUrl(new URL(url), DEFAULT_FILTERED_QUERY_PARAMS), unsigned)
    })
  }

  it('keeps a parameter not on the list, so it changes the id', TEST, () => {
    assert.notEqual(taskIdFor({ url: 'http://example.com/a?b=1' }), taskIdFor({ url: 'http://example.com/a?b=2' }))
    assert.notEqual(taskIdFor({ url: 'http://example.com/a?b=1&c=2' }), taskIdFor({ url: 'http://example.com/a?c=2&b=1' }))
  })

  it('a custom list replaces the default one', TEST, () => {
    const url = 'https://example.com/a?keep=1&drop=2'
    assert.equal(taskIdFor({ url, filteredQueryParams: ['drop'] }), 'aaa7117102872a8535349672cf74079ecd9170ec913060aa05cf3df36857885a')
    assert.notEqual(taskIdFor({ url: 'https://example.com/a?keep=1&X-Amz-Signature=s', filteredQueryParams: ['drop'] }), taskIdFor({ url: 'https://example.com/a?keep=1' }))
  })

  // Removing a parameter re-serialises the others with URLSearchParams, which writes a space as
  // `+`; the same URL without a filtered parameter keeps `%20`. Expected: one id for both.
  it('a kept parameter with an escaped space gives the same id with or without a filtered one', TEST, () => {
    // printf 'url:https://example.com/a?b=x%%20y\n' | sha256sum
    const expected = '33dfbc3d4a9dd70e2599a3124344a8e41915d2e8588e8f06a0e1be8e55976b91'
    assert.equal(taskIdFor({ url: 'https://example.com/a?b=x%20y' }), expected)
    assert.equal(taskIdFor({ url: 'https://example.com/a?b=x%20y&ns=docker.io' }), expected)
  })
})

describe('taskIdFor: parts that name a different task', TEST, () => {
  const cases: ReadonlyArray<{ name: string; other: TaskIdInput }> = [
    { name: 'tag', other: { url: PLAIN_URL, tag: 'v2' } },
    { name: 'application', other: { url: PLAIN_URL, application: 'other' } },
    { name: 'piece length', other: { url: PLAIN_URL, pieceLengthBytes: 4 * 1024 * 1024 } },
  ]
  for (const { name, other } of cases) {
    it(`${name} changes the id`, TEST, () => {
      assert.notEqual(taskIdFor(other), PLAIN_ID)
    })
  }

  it('an empty tag or application counts as unset', TEST, () => {
    assert.equal(taskIdFor({ url: PLAIN_URL, tag: '', application: '' }), PLAIN_ID)
    assert.equal(taskIdFor({ url: PLAIN_URL, tag: undefined, pieceLengthBytes: undefined }), PLAIN_ID)
  })
})

describe('taskIdFor: OCI blobs', TEST, () => {
  const sameLayer = [
    `https://registry-1.docker.io/v2/library/alpine/blobs/sha256:${LAYER_HEX}`,
    `http://127.0.0.1:5000/v2/mirror/team/alpine/blobs/sha256:${LAYER_HEX}`,
    `https://ghcr.io/v2/owner/app/blobs/sha256:${LAYER_HEX}?ns=docker.io`,
    `https://quay.io/v2/some_org/some-repo.x/blobs/sha256:${LAYER_HEX}`,
  ]
  for (const url of sameLayer) {
    it(`one task whatever registry or repository: ${url}`, TEST, () => {
      assert.equal(taskIdFor({ url }), LAYER_BLOB_ID)
      assert.equal(ociBlobDigest(new URL(url)), `sha256:${LAYER_HEX}`)
    })
  }

  const notBlobs = [
    `https://registry-1.docker.io/v2/library/alpine/manifests/sha256:${LAYER_HEX}`,
    `https://registry-1.docker.io/v2/library/alpine/blobs/uploads/${LAYER_HEX}`,
    `https://registry-1.docker.io/v2/library/alpine/blobs/sha256:${LAYER_HEX.slice(1)}`,
    `https://registry-1.docker.io/v2/library/alpine/blobs/sha256:${LAYER_HEX.toUpperCase()}`,
    `https://registry-1.docker.io/v3/library/alpine/blobs/sha256:${LAYER_HEX}`,
  ]
  for (const url of notBlobs) {
    it(`not a blob: ${url}`, TEST, () => {
      assert.equal(ociBlobDigest(new URL(url)), undefined)
      assert.notEqual(taskIdFor({ url }), LAYER_BLOB_ID)
    })
  }
})

describe('taskIdFor: URL normalisation', TEST, () => {
  const equivalent = [
    ['http://EXAMPLE.com/a?b=1', 'http://example.com/a?b=1'],
    ['http://example.com:80/a?b=1', 'http://example.com/a?b=1'],
    ['HTTP://Example.COM:80/a?b=1', 'http://example.com/a?b=1'],
    ['https://example.com:443/files/app.tar.gz', PLAIN_URL],
  ] as const
  for (const [variant, canonical] of equivalent) {
    it(`${variant} is ${canonical}`, TEST, () => {
      assert.equal(taskIdFor({ url: variant }), taskIdFor({ url: canonical }))
    })
  }

  it('a non-default port, a different path case or scheme is another task', TEST, () => {
    assert.notEqual(taskIdFor({ url: 'http://example.com:8080/a?b=1' }), taskIdFor({ url: 'http://example.com/a?b=1' }))
    assert.notEqual(taskIdFor({ url: 'http://example.com/A?b=1' }), taskIdFor({ url: 'http://example.com/a?b=1' }))
    assert.notEqual(taskIdFor({ url: 'https://example.com/a?b=1' }), taskIdFor({ url: 'http://example.com/a?b=1' }))
  })
})

describe('taskIdFor: malformed URLs', TEST, () => {
  for (const url of ['', 'not a url', '/relative/path', 'http://', 'http://exa mple.com/']) {
    it(`throws INVALID_ARGUMENT for ${JSON.stringify(url)}`, TEST, () => {
      assert.throws(() => taskIdFor({ url }), (error: unknown) => {
        assert.ok(error instanceof DamselflyError)
        assert.equal(error.code, 'INVALID_ARGUMENT')
        assert.match(error.message, /malformed URL/)
        return true
      })
    })
  }
})
