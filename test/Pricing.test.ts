import { describe, expect, it } from "@effect/vitest"
import * as ChatGPT from "../src/engines/ChatGPT.js"
import * as Pricing from "../src/Pricing.js"
import * as Task from "../src/Task.js"

const both = (sync: number, async: number) => ({ sync, async })

describe("Pricing.estimate", () => {
  it("matches the worked examples of the docs (async / sync)", () => {
    const cases = [
      {
        name: "ChatGPT plain",
        price: (mode: Pricing.Mode) => Pricing.estimate("chatgpt", { prompt: "p", country: "US" }, { mode }),
        expected: both(7, 5)
      },
      {
        name: "ChatGPT shopping + searchQueries",
        price: (mode: Pricing.Mode) =>
          Pricing.estimate("chatgpt", { prompt: "p", country: "US", include: { shopping: true, searchQueries: true } }, {
            mode
          }),
        expected: both(9, 7)
      },
      {
        name: "ChatGPT shopping + state",
        price: (mode: Pricing.Mode) =>
          Pricing.estimate("chatgpt", { prompt: "p", country: "US", state: "CA", include: { shopping: true } }, { mode }),
        expected: both(11, 9)
      },
      {
        name: "Google 3 pages + AI Overview",
        price: (mode: Pricing.Mode) =>
          Pricing.estimate("google", { query: "q", gl: "us", pages: 3, include: { aioverview: true } }, { mode }),
        expected: both(11, 9)
      },
      {
        name: "Google 10 pages + AI Overview",
        price: (mode: Pricing.Mode) =>
          Pricing.estimate("google", { query: "q", gl: "us", pages: 10, include: { aioverview: { markdown: true } } }, {
            mode
          }),
        expected: both(25, 23)
      },
      {
        name: "Perplexity",
        price: (mode: Pricing.Mode) => Pricing.estimate("perplexity", { prompt: "p", country: "US" }, { mode }),
        expected: both(6, 4)
      }
    ]
    for (const { expected, name, price } of cases) {
      expect({ name, sync: price("sync"), async: price("async") }).toEqual({ name, ...expected })
    }
  })

  it("charges each engine its base price, plus the sync surcharge in sync mode", () => {
    const async = { mode: "async" } as const
    expect(Pricing.estimate("gemini", { prompt: "p", country: "US" }, async)).toBe(4)
    expect(Pricing.estimate("copilot", { prompt: "p", country: "US" }, async)).toBe(5)
    expect(Pricing.estimate("grok", { prompt: "p", country: "US" }, async)).toBe(4)
    expect(Pricing.estimate("aimode", { prompt: "p", gl: "us" }, async)).toBe(4)
    expect(Pricing.estimate("google", { query: "q", gl: "us" }, async)).toBe(3)
    expect(Pricing.estimate("googleNews", { query: "q", gl: "us" }, async)).toBe(3)
    expect(Pricing.estimate("googleNews", { query: "q", gl: "us" }, { mode: "sync" })).toBe(3 + Pricing.SYNC_SURCHARGE)
  })

  it("counts ChatGPT's paid group once, whatever its members, and leaves html/markdown free", () => {
    const price = (include: ChatGPT.Include) =>
      Pricing.estimate("chatgpt", { prompt: "p", country: "US", include }, { mode: "async" })
    expect(price({ html: true, markdown: true })).toBe(5)
    expect(price({ rawResponse: true })).toBe(7)
    expect(price({ ads: true })).toBe(7)
    expect(price({ rawResponse: true, searchQueries: true, ads: true, shopping: true, html: true })).toBe(7)
    expect(price({ shopping: false })).toBe(5)
  })

  it("adds state targeting on every engine that accepts state", () => {
    for (const engine of ["chatgpt", "perplexity", "gemini", "copilot", "grok"] as const) {
      const plain = Pricing.estimate(engine, { prompt: "p", country: "US" }, { mode: "async" })
      expect(Pricing.estimate(engine, { prompt: "p", country: "US", state: "TX" }, { mode: "async" })).toBe(plain + 2)
    }
  })

  it("adds 2 per Google page after the first, on Search and News", () => {
    expect(Pricing.estimate("google", { query: "q", gl: "us", pages: 1 }, { mode: "async" })).toBe(3)
    expect(Pricing.estimate("google", { query: "q", gl: "us", pages: 2 }, { mode: "async" })).toBe(5)
    expect(Pricing.estimate("googleNews", { query: "q", gl: "us", pages: 4 }, { mode: "async" })).toBe(9)
    expect(Pricing.estimate("googleNews", { query: "q", gl: "us", pages: 10 }, { mode: "sync" })).toBe(23)
  })

  it("counts AI Overview and PAA AI Overview as one flat add-on (newest spec)", () => {
    expect(Pricing.AI_OVERVIEW_BILLING).toBe("flat")
    const price = (include: { readonly aioverview?: true; readonly paaAioverview?: boolean }) =>
      Pricing.estimate("google", { query: "q", gl: "us", include }, { mode: "async" })
    expect(price({})).toBe(3)
    expect(price({ aioverview: true })).toBe(5)
    expect(price({ paaAioverview: true })).toBe(5)
    expect(price({ aioverview: true, paaAioverview: true })).toBe(5)
    expect(price({ paaAioverview: false })).toBe(3)
  })

  it("leaves AI Mode's product expansion out of the estimate", () => {
    expect(Pricing.estimate("aimode", { prompt: "p", gl: "us", include: { expandProducts: true } }, { mode: "sync" })).toBe(
      6
    )
  })
})

describe("Pricing.charge", () => {
  const expanding = { prompt: "p", gl: "us", include: { expandProducts: true } } as const

  it("adds one credit per AI Mode product cluster returned, at most 6", () => {
    expect(Pricing.charge("aimode", expanding, { mode: "async", productClusters: 0 })).toBe(4)
    expect(Pricing.charge("aimode", expanding, { mode: "async", productClusters: 3 })).toBe(7)
    expect(Pricing.charge("aimode", expanding, { mode: "sync", productClusters: 6 })).toBe(12)
    expect(Pricing.charge("aimode", expanding, { mode: "async", productClusters: 9 })).toBe(10)
    expect(Pricing.charge("aimode", expanding, { mode: "async" })).toBe(4)
  })

  it("ignores product clusters without expandProducts, and on other engines", () => {
    expect(Pricing.charge("aimode", { prompt: "p", gl: "us" }, { mode: "async", productClusters: 3 })).toBe(4)
    expect(Pricing.charge("google", { query: "q", gl: "us" }, { mode: "async", productClusters: 1 })).toBe(3)
  })

  it("equals the estimate for everything else", () => {
    const request = { prompt: "p", country: "US", state: "CA", include: { ads: true } } as const
    expect(Pricing.charge("chatgpt", request, { mode: "sync" })).toBe(Pricing.estimate("chatgpt", request, { mode: "sync" }))
  })
})

describe("Pricing.maxCharge", () => {
  it("reserves the full product expansion for AI Mode, nothing more elsewhere", () => {
    expect(Pricing.maxCharge("aimode", { prompt: "p", gl: "us", include: { expandProducts: true } }, { mode: "async" })).toBe(
      10
    )
    expect(Pricing.maxCharge("aimode", { prompt: "p", gl: "us" }, { mode: "sync" })).toBe(6)
    expect(Pricing.maxCharge("google", { query: "q", gl: "us", pages: 3, include: { aioverview: true } }, { mode: "sync" }))
      .toBe(11)
  })
})

describe("Pricing.estimateTask", () => {
  it("prices an async task by its taskType, without the sync surcharge", () => {
    expect(Pricing.estimateTask(Task.make("chatgpt", { prompt: "hi", country: "US", include: { shopping: true } }))).toBe(7)
    expect(Pricing.estimateTask(Task.make("google", { query: "crm", country: "US", pages: 3, include: { aioverview: true } }))).toBe(9)
    expect(Pricing.estimateTask(Task.make("googleNews", { query: "crm", country: "US" }))).toBe(3)
    expect(Pricing.estimateTask(Task.make("perplexity", { prompt: "hi", country: "US", state: "CA" }))).toBe(6)
  })
})
