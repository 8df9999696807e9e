import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { InvalidRequest } from "../src/CloroError.js"
import * as Engine from "../src/Engine.js"
import * as GoogleGoto from "../src/engines/GoogleGoto.js"

/** Validates and returns the issues as `field: message` lines (empty when valid). */
const issuesOf = (name: Engine.EngineName, body: unknown): ReadonlyArray<{ field: string; message: string }> =>
  Either.match(Engine.validate(name, body), {
    onLeft: (error) => {
      expect(error).toBeInstanceOf(InvalidRequest)
      expect(error.source).toBe("client")
      return error.issues.map(({ field, message }) => ({ field, message }))
    },
    onRight: () => []
  })

const fieldsOf = (name: Engine.EngineName, body: unknown): ReadonlyArray<string> =>
  issuesOf(name, body).map((issue) => issue.field)

/** A valid body per engine, which each case below breaks in one way. */
const valid: { readonly [N in Engine.EngineName]: Engine.Request<N> } = {
  chatgpt: { prompt: "Best CRM for startups?", country: "US", include: { markdown: true, shopping: true } },
  perplexity: { prompt: "Best laptops for programming?", country: "DE", include: { html: true } },
  gemini: { prompt: "Explain quantum computing", country: "US", state: "CA" },
  copilot: { prompt: "Best laptops for programming?", country: "GB", include: { rawResponse: true } },
  grok: { prompt: "Best laptops for programming?", country: "FR" },
  aimode: { prompt: "Best running shoes", gl: "us", hl: "en", device: "mobile", include: { expandProducts: true } },
  google: { query: "best crm", country: "US", pages: 3, include: { aioverview: { markdown: true }, paaAioverview: true } },
  googleNews: { query: "climate change", gl: "de", hl: "de", device: "ios", pages: 2, include: { html: true } }
}

const promptField = (name: Engine.EngineName): "prompt" | "query" =>
  name === "google" || name === "googleNews" ? "query" : "prompt"

const googleFamily: ReadonlyArray<Engine.EngineName> = ["aimode", "google", "googleNews"]
const aiEngines: ReadonlyArray<Engine.EngineName> = ["chatgpt", "perplexity", "gemini", "copilot", "grok"]
const blocked: { readonly [N in Engine.EngineName]?: string } = {
  chatgpt: "RU",
  perplexity: "CN",
  gemini: "BY",
  copilot: "SY",
  grok: "HK",
  aimode: "KP"
}

const withBody = (name: Engine.EngineName, patch: Readonly<Record<string, unknown>>): Record<string, unknown> => ({
  ...valid[name],
  ...patch
})

const without = (name: Engine.EngineName, ...keys: ReadonlyArray<string>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(valid[name]).filter(([key]) => !keys.includes(key)))

describe("Engine registry", () => {
  it("has every engine with its task type and sync path", () => {
    expect(Engine.names).toEqual(["chatgpt", "perplexity", "gemini", "copilot", "grok", "aimode", "google", "googleNews"])
    expect(Engine.names.map((name) => [Engine.engines[name].taskType, Engine.engines[name].path])).toEqual([
      ["CHATGPT", "/v1/monitor/chatgpt"],
      ["PERPLEXITY", "/v1/monitor/perplexity"],
      ["GEMINI", "/v1/monitor/gemini"],
      ["COPILOT", "/v1/monitor/copilot"],
      ["GROK", "/v1/monitor/grok"],
      ["AIMODE", "/v1/monitor/aimode"],
      ["GOOGLE", "/v1/monitor/google"],
      ["GOOGLE_NEWS", "/v1/monitor/google/news"]
    ])
    for (const name of Engine.names) {
      expect(Engine.engines[name].name).toBe(name)
      expect(Engine.fromTaskType(Engine.engines[name].taskType).name).toBe(name)
      expect(Engine.findByTaskType(Engine.engines[name].taskType)).toEqual(Option.some(Engine.engines[name]))
    }
  })

  it("findByTaskType answers None for a string that is no task type, and never throws", () => {
    for (const value of ["BING", "", "chatgpt", "toString", "__proto__", "constructor", "GOOGLE_NEWS "]) {
      expect(Option.isNone(Engine.findByTaskType(value)), value).toBe(true)
    }
    // a plain-JS caller may pass anything
    const anything: ReadonlyArray<unknown> = [undefined, null, 42, {}, ["CHATGPT"]]
    for (const value of anything) {
      // @ts-expect-error plain JS
      expect(Option.isNone(Engine.findByTaskType(value))).toBe(true)
    }
  })
})

describe("Engine.validate", () => {
  describe.each(Engine.names)("%s", (name) => {
    const text = promptField(name)
    const label = text === "prompt" ? "Prompt" : "Query"

    it("accepts a valid request and returns it unchanged", () => {
      expect(Engine.validate(name, valid[name])).toEqual(Either.right(valid[name]))
    })

    it("rejects an empty or blank prompt", () => {
      expect(issuesOf(name, withBody(name, { [text]: "" }))).toEqual([{ field: text, message: `${label} cannot be empty` }])
      expect(issuesOf(name, withBody(name, { [text]: "  \n " }))).toEqual([
        { field: text, message: `${label} cannot be empty` }
      ])
    })

    it("accepts 10,000 characters and rejects 10,001", () => {
      expect(issuesOf(name, withBody(name, { [text]: "x".repeat(10_000) }))).toEqual([])
      expect(issuesOf(name, withBody(name, { [text]: "x".repeat(10_001) }))).toEqual([
        { field: text, message: `${label} is too long (max 10,000 characters)` }
      ])
    })

    it("rejects an unknown include key and an unknown top-level field", () => {
      expect(fieldsOf(name, withBody(name, { include: { foo: true } }))).toEqual(["include.foo"])
      expect(fieldsOf(name, withBody(name, { model: "CHATGPT" }))).toEqual(["model"])
      expect(issuesOf(name, withBody(name, { model: "CHATGPT" }))[0]?.message).toMatch(/^Unknown field/)
    })

    it("rejects a lowercase or unknown country code", () => {
      const base = without(name, "gl", "state")
      expect(issuesOf(name, { ...base, country: "us" })).toEqual([
        { field: "country", message: `Country codes are uppercase: use "US", not "us"` }
      ])
      expect(fieldsOf(name, { ...base, country: "ZZ" })).toEqual(["country"])
    })

    it("rejects a body that is not an object", () => {
      expect(fieldsOf(name, "prompt")).toEqual(["(body)"])
      expect(fieldsOf(name, null)).toEqual(["(body)"])
    })

    if (blocked[name] !== undefined) {
      it(`rejects a country the engine does not serve (${blocked[name]})`, () => {
        const base = without(name, "gl", "state")
        expect(issuesOf(name, { ...base, country: blocked[name] })).toEqual([
          { field: "country", message: expect.stringMatching(/is not available in/) }
        ])
      })
    }

    if (aiEngines.includes(name)) {
      it("requires country", () => {
        expect(issuesOf(name, without(name, "country", "state"))).toEqual([
          { field: "country", message: "Required field is missing" }
        ])
      })

      it("accepts state with country US, rejects it elsewhere and rejects unknown states", () => {
        expect(issuesOf(name, withBody(name, { country: "US", state: "NY" }))).toEqual([])
        expect(issuesOf(name, withBody(name, { country: "US", state: "DC" }))).toEqual([])
        expect(fieldsOf(name, withBody(name, { country: "CA", state: "NY" }))).toEqual(["state"])
        expect(fieldsOf(name, withBody(name, { country: "US", state: "ZZ" }))).toEqual(["state"])
        expect(fieldsOf(name, withBody(name, { country: "US", state: "ny" }))).toEqual(["state"])
      })

      it("rejects the Google-only fields", () => {
        expect(fieldsOf(name, withBody(name, { gl: "us", location: "Paris" }))).toEqual(["gl", "location"])
      })
    }

    if (googleFamily.includes(name)) {
      it("requires country or gl", () => {
        expect(issuesOf(name, without(name, "country", "gl"))).toEqual([
          { field: "gl", message: "Provide gl (or country, which is deprecated)" }
        ])
        expect(issuesOf(name, { ...without(name, "country", "gl"), country: "DE" })).toEqual([])
        expect(issuesOf(name, { ...without(name, "country", "gl"), gl: "De" })).toEqual([])
      })

      it("accepts country and gl that agree in any case, rejects ones that disagree", () => {
        expect(issuesOf(name, withBody(name, { country: "DE", gl: "de" }))).toEqual([])
        expect(issuesOf(name, withBody(name, { country: "DE", gl: "fr" }))).toEqual([
          { field: "gl", message: expect.stringMatching(/^Cannot set both country and gl to different values/) }
        ])
      })

      it("rejects a gl that is no country", () => {
        expect(fieldsOf(name, { ...without(name, "country"), gl: "zz" })).toEqual(["gl"])
      })

      it("rejects state", () => {
        expect(fieldsOf(name, withBody(name, { country: "US", gl: "us", state: "CA" }))).toEqual(["state"])
      })
    }

    if (name === "google" || name === "googleNews") {
      it("accepts pages 1 to 10, rejects 0, 11 and fractions", () => {
        expect(issuesOf(name, withBody(name, { pages: 1 }))).toEqual([])
        expect(issuesOf(name, withBody(name, { pages: 10 }))).toEqual([])
        for (const pages of [0, 11, 2.5, -1]) {
          expect(issuesOf(name, withBody(name, { pages }))).toEqual([
            { field: "pages", message: "pages must be an integer from 1 to 10" }
          ])
        }
        expect(fieldsOf(name, withBody(name, { pages: "2" }))).toEqual(["pages"])
      })
    }

    if (name === "aimode" || name === "google") {
      it("accepts location or uule, rejects both", () => {
        expect(issuesOf(name, withBody(name, { location: "New York,New York,United States" }))).toEqual([])
        expect(issuesOf(name, withBody(name, { uule: "w+CAIQICIeV2VzdCBOZXcgWW9yayxOZXcgSmVyc2V5" }))).toEqual([])
        expect(issuesOf(name, withBody(name, { location: "Paris,Ile-de-France,France", uule: "w+CAIQ" }))).toEqual([
          { field: "uule", message: "Cannot set both location and uule; provide only one" }
        ])
      })
    }
  })

  describe("google", () => {
    const url = "https://www.google.com/search?q=best+laptops+for+programming&hl=en&gl=us&num=30"

    it("accepts the url shape, taking gl from the URL", () => {
      expect(issuesOf("google", { url })).toEqual([])
      expect(issuesOf("google", { url: "https://www.google.co.uk/search?q=x", gl: "gb", device: "ios" })).toEqual([])
    })

    it("needs gl when the url has none", () => {
      expect(issuesOf("google", { url: "https://www.google.com/search?q=x" })).toEqual([
        { field: "gl", message: "Provide gl (or country, which is deprecated)" }
      ])
    })

    it("rejects url together with query, location, uule or pages", () => {
      expect(issuesOf("google", { url, query: "x" })).toEqual([
        { field: "query", message: "Cannot set both url and query; the URL owns this value" }
      ])
      expect(fieldsOf("google", { url, location: "Paris", pages: 2 })).toEqual(["location", "pages"])
      expect(fieldsOf("google", { url, uule: "w+CAIQ" })).toEqual(["uule"])
    })

    it("rejects a body with neither query nor url", () => {
      expect(issuesOf("google", { gl: "us" })).toEqual([{ field: "query", message: "Provide either query or url" }])
    })

    it("rejects urls that are not Google web searches", () => {
      const messageOf = (u: string) => issuesOf("google", { url: u }).find((i) => i.field === "url")?.message
      expect(messageOf("not a url")).toBe("url must be a valid absolute http(s) URL")
      expect(messageOf("https://www.bing.com/search?q=x&gl=us")).toMatch(/Google web search host/)
      expect(messageOf("https://www.google.com/maps?q=x&gl=us")).toBe("url path must be /search")
      expect(messageOf("https://www.google.com/search?q=x&tbm=nws&gl=us")).toMatch(/must not set tbm/)
      expect(messageOf("https://www.google.com/search?q=&gl=us")).toBe("url must include a non-empty q parameter")
    })

    it("accepts include.aioverview as true or { markdown }, nothing else", () => {
      expect(issuesOf("google", withBody("google", { include: { aioverview: true } }))).toEqual([])
      expect(issuesOf("google", withBody("google", { include: { aioverview: {} } }))).toEqual([])
      expect(issuesOf("google", withBody("google", { include: { aioverview: false } }))).toEqual([
        { field: "include.aioverview", message: "aioverview must be true or { markdown?: boolean }" }
      ])
      expect(fieldsOf("google", withBody("google", { include: { aioverview: { markdown: true, foo: 1 } } }))).toEqual(
        ["include.aioverview"]
      )
    })

    it("rejects device values of other engines", () => {
      expect(fieldsOf("aimode", withBody("aimode", { device: "ios" }))).toEqual(["device"])
      expect(issuesOf("google", withBody("google", { device: "android" }))).toEqual([])
    })
  })

  it("accepts ChatGPT's legacy and disableWebSearch flags and every include flag", () => {
    expect(
      issuesOf("chatgpt", {
        prompt: "p",
        country: "CZ",
        legacy: true,
        disableWebSearch: true,
        include: { html: true, markdown: true, rawResponse: true, searchQueries: true, ads: true, shopping: true }
      })
    ).toEqual([])
    expect(fieldsOf("chatgpt", { prompt: "p", country: "US", legacy: "yes" })).toEqual(["legacy"])
  })

  it("lists every problem of a request at once", () => {
    expect(
      issuesOf("chatgpt", {
        prompt: "",
        country: "RU",
        state: "CA",
        include: { html: true, foo: true },
        model: "CHATGPT"
      })
    ).toEqual([
      { field: "model", message: expect.stringMatching(/^Unknown field/) },
      { field: "prompt", message: "Prompt cannot be empty" },
      { field: "country", message: "ChatGPT is not available in RU; choose a different country" },
      { field: "include.foo", message: expect.stringMatching(/^Unknown field/) },
      { field: "state", message: `state is only supported with country US (got "RU")` }
    ])
    expect(
      fieldsOf("google", { query: "", country: "DE", gl: "fr", pages: 11, location: "x", uule: "y", include: { foo: 1 } })
    ).toEqual(["query", "pages", "include.foo", "gl", "uule"])
  })

  it("reports every issue in the error message too", () => {
    const result = Engine.validate("gemini", { prompt: "", country: "RU" })
    expect(Either.isLeft(result) && result.left.message).toBe(
      "Invalid gemini request: prompt: Prompt cannot be empty; country: Gemini is not available in RU; choose a different country"
    )
  })

  it("keeps the request encodable as is: the Type and the wire body are the same JSON", () => {
    // Generic over the name, so that the spec's schema and the body share one engine's types.
    const wire = <N extends Engine.EngineName>(name: N): unknown =>
      JSON.parse(JSON.stringify(Schema.encodeSync(Engine.engines[name].request)(valid[name])))
    for (const name of Engine.names) {
      expect(wire(name)).toEqual(valid[name])
    }
  })
})

describe("GoogleGoto", () => {
  it("accepts Google redirect links only", () => {
    const decode = Schema.decodeUnknownEither(GoogleGoto.Request, { onExcessProperty: "error" })
    expect(Either.isRight(decode({ url: "https://www.google.com/goto?url=CAESaQHrOzAV" }))).toBe(true)
    expect(Either.isRight(decode({ url: "https://google.com/url?q=https://example.com" }))).toBe(true)
    expect(Either.isLeft(decode({ url: "https://www.google.de/goto?url=x" }))).toBe(true)
    expect(Either.isLeft(decode({ url: "https://www.google.com/search?q=x" }))).toBe(true)
    expect(Either.isLeft(decode({ url: "https://www.google.com/goto?url=x", extra: 1 }))).toBe(true)
    expect(Schema.decodeUnknownSync(GoogleGoto.Response)({ url: "https://www.youtube.com/watch?v=pma08NXw8Ts" })).toEqual({
      url: "https://www.youtube.com/watch?v=pma08NXw8Ts"
    })
  })
})

/** Results assembled from the field `example`s of the newest OpenAPI (cloro-openapi.json, 2026-10-07). */
const specExamples = {
  chatgpt: {
    text: "The name \"Acme Corporation\" is used in various contexts, both fictional and real. Here's an overv...",
    sources: [{"position": 1, "url": "https://www.rippling.com/blog/ai-recruiting?utm_source=chatgpt.com", "label": "12 Best AI Recruiting Tools For HR in 2025", "description": "Discover the top AI recruiting tools that can help HR professionals streamline their hiring proce...", "footnote": false, "datePublished": "May 22, 2025"}, {"position": 2, "url": "https://www.index.dev/blog/ai-recruiting-software-hiring-managers?utm_source=chatgpt.com", "label": "7 Best AI Recruiting Software for Hiring Managers in 2025", "description": "A comprehensive guide to the best AI recruiting software options available for hiring managers...", "footnote": false, "datePublished": "April 10, 2025"}, {"position": 3, "url": "https://www.selectsoftwarereviews.com/buyer-guide/ai-recruiting?utm_source=chatgpt.com", "label": "10+ Best AI Recruiting Software for 2025: Expert Reviews + Pricing", "description": "Expert reviews and pricing information for the best AI recruiting software solutions...", "footnote": true}],
    html: "https://cdn.cloro.dev/results/c45a5081-808d-4ed3-9c86-e4baf16c8ab8/page-1.html",
    markdown: "The name \"Acme Corporation\" is used in various contexts, both fictional and real. Here's an overv...",
    rawResponse: [{"type": "resume_conversation_token", "token": "eyJhbGciOiJFUzI1Ni...WaVoqQ", "conversation_id": "68efc64b-2d74-8012-b87d-28e59f3b8a49"}, {"type": "message_start", "message": {"id": "msg_01JD6Q7H1ZKWM9GD34V5ZW1TYM", "role": "assistant", "model": "gpt-5"}}],
    searchQueries: ["What is Acme Corporation?", "Acme Corp company overview", "Acme Corporation products and services"],
    mapSearchQueries: ["coffee shops near Union Square San Francisco"],
    model: "gpt-5-5",
    shoppingCards: [{"tags": ["stylish casual leather sneaker", "heritage retro leather sneaker"], "products": [{"title": "Adidas VL Court 3.0", "url": "https://www.adidas.com/us/vl-court-3.0-shoes/ID8797.html?utm_source=chatgpt.com", "price": "$57.00", "featured_tag": "stylish casual leather sneaker", "merchant": "adidas + others", "image_urls": ["https://images.openai.com/static-rsc-1/example.jpg"], "rating": 4.7, "num_reviews": 10394, "id": "3250714974047560249", "offers": [{"merchant_name": "adidas", "product_name": "Adidas Women's VL Court 3.0", "url": "https://www.adidas.com/us/vl-court-3.0-shoes/ID8797.html?utm_source=chatgpt.com", "price": "$57.00", "details": "In stock online and nearby, Delivery between Sat - Mon $4.99", "available": true, "checkoutable": false, "price_details": {"base": "$57.00", "total": "$57.00"}, "tag": {"text": "Best price"}}], "rating_grouped_citation": {"title": "Adidas Women's VL Court 3.0", "url": "https://www.adidas.com/us/vl-court-3.0-shoes/ID8797.html", "supporting_websites": [{"title": "Adidas Women's VL Court 3.0", "url": "https://www.macys.com/shop/product/adidas-womens-vl-court-3.0-casual-sneakers-from-finish-line?ID..."}]}}]}],
    inlineProducts: [{"product": {"title": "Nike Court Vision Low Next Nature Shoes", "position": 1, "url": "https://www.amazon.in/Nike-Court-Vision-Shoes/dp/B098F6QPLK?utm_source=chatgpt.com", "description": "Classic sneaker with modern comfort features", "price": "$79.99", "featured_tag": "stylish casual leather sneaker", "rating": 4.5, "num_reviews": 8703, "id": "prod_12345", "offers": [{"merchant_name": "Amazon.in", "product_name": "Nike Men's Court Vision Low Next Nature Shoes", "url": "https://www.amazon.in/dp/B098F6QPLK?utm_source=chatgpt.com", "price": "$79.99", "details": "In stock online, Free delivery", "available": true, "checkoutable": false, "provider": "p2", "price_details": {"base": "$79.99", "total": "$79.99"}, "tag": {"text": "Best price"}}], "rating_grouped_citation": {"title": "Nike Men's Court Vision Low Next Nature Shoes", "url": "https://www.amazon.in/dp/B098F6QPLK"}, "provider": "deprecated", "providers": ["product_info"], "show_price_disclosure": false, "metadata_sources": ["p2"], "generatedProductQuery": "best microwaves uk 2026 countertop inverter combi microwave"}, "render_as": "hero"}],
    entities: [{"type": "product", "name": "adidas Grand Court Lo"}, {"type": "product", "name": "Reebok Club C 85 Vintage"}, {"type": "product", "name": "Nike Dunk Low Retro SE"}],
    map: [{"id": "rVKID2OBQMyVpraqSjz9sg", "provider": "yelp", "name": "Blue Bottle Coffee", "position": 1, "address": "66 Mint St, San Francisco, CA 94103", "latitude": 37.7811, "longitude": -122.4076, "categories": ["Coffee shop"], "rating": 4.5, "reviewCount": 1234, "description": "Specialty coffee roaster known for their meticulous pour-over preparations", "phone": "+1-415-555-0123", "websiteUrl": "https://bluebottlecoffee.com"}],
    citationPills: [{"url": "https://example.com/article", "label": "Example Article Title", "description": "A detailed description of the cited content", "domain": "example.com", "datePublished": "2025-01-01", "citationPillId": 0, "type": "searchResult", "position": 1}],
    ads: [{"brand": {"name": "Acme Shoes", "url": "https://www.acmeshoes.com?utm_source=chatgpt.com", "favicon": "https://images.openai.com/favicon.ico"}, "cards": [{"title": "Premium Running Shoes", "body": "Lightweight performance running shoes with advanced cushioning technology", "url": "https://www.acmeshoes.com/running?utm_source=chatgpt.com", "image": "https://images.openai.com/product.jpg"}, {"title": "Trail Running Shoes", "body": "Durable shoes designed for off-road running with superior grip", "url": "https://www.acmeshoes.com/trail?utm_source=chatgpt.com", "image": "https://images.openai.com/product2.jpg"}]}],
  },
  perplexity: {
    text: "Based on current sources and information, here are the best laptops for programming...",
    html: "https://cdn.cloro.dev/results/c45a5081-808d-4ed3-9c86-e4baf16c8ab8/page-1.html",
    sources: [{"position": 1, "url": "https://techcrunch.com/laptops", "label": "TechCrunch", "description": "Latest laptop reviews and recommendations"}, {"position": 2, "url": "https://www.youtube.com/watch?v=example", "label": "Best Laptops 2026", "description": "Video review of programming laptops"}, {"position": 3, "url": "https://wired.com/programming-laptops", "label": "Wired", "description": "Programming laptop buyer's guide"}],
    citationPills: [{"label": "Best Programming Laptops 2026 — TechCrunch", "citationPillId": 1, "url": "https://techcrunch.com/laptops", "domain": "techcrunch.com", "description": "Latest laptop reviews and recommendations", "position": 1}, {"label": "Wired Laptop Buyer's Guide", "citationPillId": 1, "url": "https://wired.com/programming-laptops", "domain": "wired.com", "description": "Programming laptop buyer's guide", "position": 3}],
    markdown: "Based on current sources and information, here are the best laptops for programming...",
    related_queries: ["best neighborhoods to stay in Lisbon", "top-rated luxury hotels in Lisbon under €300", "highest-rated traditional Portuguese restaurants in Baixa"],
    videos: [{"title": "Best hotels in Lisbon, reviewed | The Independent", "url": "https://www.independent.co.uk/travel/europe/portugal/lisbon/best-lisbon-portugal-hotels-b1987832....", "thumbnail": "https://d2u1z1lopyfwlx.cloudfront.net/thumbnails/636fbd12-6dee-5f44-a76d-fe7f9cd20e40/75ce41cb-67...", "medium": "image", "source": "web", "image_width": 5600, "image_height": 3733, "thumbnail_width": 300, "thumbnail_height": 200}],
    images: [{"title": "Best hotels in Lisbon, reviewed | The Independent", "url": "https://www.independent.co.uk/travel/europe/portugal/lisbon/best-lisbon-portugal-hotels-b1987832....", "thumbnail": "https://d2u1z1lopyfwlx.cloudfront.net/thumbnails/636fbd12-6dee-5f44-a76d-fe7f9cd20e40/75ce41cb-67...", "medium": "image", "source": "web", "image_width": 5600, "image_height": 3733, "thumbnail_width": 300, "thumbnail_height": 200}],
    hotels: [{"name": "Corpo Santo Lisbon Historical Hotel", "url": "https://www.tripadvisor.com/Hotel_Review-g189158-d12659702-Reviews-Corpo_Santo_Lisbon_Historical_...", "rating": 4.9, "num_reviews": 4374, "address": ["Largo do Corpo Santo, 25, Lisbon 1200-129 Portugal"], "phone": "+351 21 828 8000", "description": "Located next to the riverside area, in one of the prime areas of the Lisbon Center...", "image_url": "https://media-cdn.tripadvisor.com/media/photo-o/30/28/6c/86/caption.jpg", "lat": 38.707397, "lng": -9.142318, "categories": ["Hotel"]}],
    places: [{"name": "Floresta Das Escadinhas", "url": "https://www.tripadvisor.com/Restaurant_Review-g189158-d1520116-Reviews-Floresta_Das_Escadinhas-Li...", "rating": 4.8, "address": ["Rua de Santa Justa N°3, Lisbon 1100-483 Portugal"], "lat": 38.712717, "lng": -9.136362, "categories": ["Healthy", "Grill", "Barbecue", "Mediterranean", "Portuguese", "European"], "map_url": "https://google.com/maps/?q=find+best+hotels+and+restaurants+in+lisbon&ll=38.720914,-9.147162&z=15"}],
    shopping_cards: [{"tags": ["running", "athletic"], "products": [{"title": "Nike Pegasus 41", "id": "nike-pegasus-41", "url": "https://www.nike.com/t/pegasus-41", "price": "$140.00", "merchant": "Nike", "available": true, "numReviews": 1284, "offers": [{"price": "$140.00", "merchant_name": "Nike", "product_name": "Nike Pegasus 41 Running Shoes", "available": true, "price_details": {"display_price": "$140.00"}, "original_price": null}], "position": 1, "rating": 4.6, "description": "Responsive cushioning for daily training runs."}]}],
    search_model_queries: ["find best hotels and restaurants in lisbon"],
  },
  gemini: {
    text: "Quantum computing is a type of computation...",
    markdown: "**Quantum computing** is a type of computation...",
    html: "https://cdn.cloro.dev/results/c45a5081-808d-4ed3-9c86-e4baf16c8ab8/page-1.html",
    sources: [{"position": 1, "label": "Wikipedia - Quantum Computing", "url": "https://en.wikipedia.org/wiki/Quantum_computing", "description": "Quantum computing is a multidisciplinary field..."}],
    citationPills: [{"label": "Quantum computing — Wikipedia", "citationPillId": 1, "url": "https://en.wikipedia.org/wiki/Quantum_computing", "domain": "en.wikipedia.org", "description": "Quantum computing is a multidisciplinary field...", "position": 1}, {"label": "IBM Quantum", "citationPillId": 1, "url": "https://www.ibm.com/quantum", "domain": "ibm.com", "position": 3}],
    places: [{"index": 0, "title": "Pullman Quay Grand Sydney Harbour", "link": "https://www.google.com/travel/search?q=Pullman+Quay+Grand+Sydney+Harbour", "thumbnail": "https://lh3.googleusercontent.com/gps-cs-s/example", "rating": 4.4, "reviews": 1307, "type": "5-star hotel", "description": "Upscale hotel offering sophisticated suites, plus a restaurant, an indoor pool & a chic bar.", "price": "$565"}],
    shoppingCards: [{"position": 1, "title": "ASICS Men's Novablast 5", "productLink": "https://google.com/search?q=ASICS+Men%27s+Novablast+5&prds=catalogid%3A15000182008314641842%2Cpro...", "productId": "11413473167792520357", "price": {"value": 129.95, "currency": "$", "raw": "$129.95"}, "oldPrice": {"value": 149.99, "currency": "$", "raw": "$149.99"}, "store": "Marathon Sports", "storeLink": "https://www.marathonsports.com/products/asics-mens-novablast-5", "storeCount": 2, "shipping": "Free", "deliveryTime": "Up to 5 days", "rating": 4.8, "reviews": 11558, "brand": "ASICS", "description": "The ASICS Novablast is a multi-talented running shoe...", "thumbnail": "https://encrypted-tbn1.gstatic.com/shopping?q=tbn:example", "images": ["https://encrypted-tbn1.gstatic.com/shopping?q=tbn:example"], "catalogId": "15000182008314641842", "gpcId": "1340101364570861215"}],
  },
  copilot: {
    text: "As an AI assistant, I can help you find great laptops for programming...",
    html: "https://cdn.cloro.dev/results/c45a5081-808d-4ed3-9c86-e4baf16c8ab8/page-1.html",
    sources: [{"position": 1, "url": "https://docs.microsoft.com/", "label": "Microsoft Docs", "description": "Official development documentation"}],
    citationPills: [{"label": "Microsoft 365 Documentation", "citationPillId": 1, "url": "https://docs.microsoft.com/", "domain": "docs.microsoft.com", "description": "Official development documentation", "position": 1}, {"label": "VS Code on GitHub", "citationPillId": 1, "url": "https://github.com/microsoft/vscode", "domain": "github.com", "description": "Visual Studio Code repository", "position": 2}],
    shoppingCards: [{"type": "shoppingProducts", "layout": "Carousel", "products": [{"position": 1}]}],
    map: [{"name": "WonderWorks Pigeon Forge", "position": 1, "placeId": "ChIJEYpTsk__W4gR2sQLGzOjE3o", "location": {"address": "100 Music Rd, Pigeon Forge, TN 37863", "latitude": 35.823257, "longitude": -83.5787498}, "phoneNumber": "(865) 868-1800", "url": "http://www.wonderworksonline.com/pigeon-forge/", "reviews": [{"count": 10625, "rating": 4.3, "providerName": "Google", "providerIconUrl": null, "url": "https://maps.google.com/?cid=8796553937077126362"}], "photos": [{"url": "https://lh3.googleusercontent.com/gps-cs-s/example", "altText": null, "providerName": null, "providerUrl": "https://maps.google.com"}], "openState": "Open · Closes 9 PM", "category": "Amusement park", "price": null, "layerLabel": "Theme Parks"}],
    searchQueries: ["best laptops for programming 2025", "developer laptop reviews"],
    markdown: "As an AI assistant, I can help you find great laptops for programming...",
  },
  grok: {
    text: "Based on current information and real-time web search, here are excellent laptop options for prog...",
    html: "https://cdn.cloro.dev/results/c45a5081-808d-4ed3-9c86-e4baf16c8ab8/page-1.html",
    sources: [{"position": 1, "url": "https://techcrunch.com/programming-laptops", "label": "TechCrunch", "description": "Best laptops for coding and development", "preview": "When looking for a programming laptop, prioritize RAM and processor power...", "searchEngineText": "Top Development Laptops 2025", "siteName": "TechCrunch", "metadataTitle": "Ultimate Guide to Programming Laptops", "creator": "Tech Team", "image": "https://techcrunch.com/preview.jpg", "favicon": "https://techcrunch.com/favicon.ico"}],
    searchQueries: ["best laptops for programming 2026", "top developer laptops 2026"],
    model: "grok-4-auto",
    markdown: "Based on current information and real-time web search, here are excellent laptop options for prog...",
  },
  aimode: {
    text: "Here are some excellent laptop recommendations for programming...",
    html: "https://cdn.cloro.dev/results/c45a5081-808d-4ed3-9c86-e4baf16c8ab8/page-1.html",
    sources: [{"position": 1, "url": "https://example.com/ai-recommendations", "label": "AI Source", "description": "AI-curated laptop recommendations"}],
    citationPills: [{"label": "Best Laptops 2026 — Reuters", "citationPillId": 1, "url": "https://example.com/best-laptops-2026", "domain": "example.com", "description": "A guide to the top laptops for software development this year.", "position": 1}, {"label": "MacBook Pro M4 Hands-On Review", "citationPillId": 1, "url": "https://example.com/macbook-pro-review", "domain": "example.com", "position": 3}],
    markdown: "Here are some excellent laptop recommendations for programming...",
    places: [{"title": "Gion District", "index": 0, "thumbnail": "https://lh5.googleusercontent.com/p/example", "rating": 4.5, "reviews": 2900, "type": "Tourist attraction", "address": "510 Atlantic Ave, Boston, MA 02210", "status": "Open now", "placeId": "/g/1tglgvbk", "phone": "+16177471000", "website": "https://www.thedagnyboston.com/", "link": "https://www.google.com/searchviewer/10?svid=CAwSGxIZCgNwdnESEkNnc3ZaeTh4ZGpGMGJqWTBlURgK", "priceLevel": "$$"}],
    shoppingCards: [{"title": "Wireless Headphones", "price": {"value": 99.99, "currency": "$", "raw": "$99.99"}, "store": "Amazon", "rating": 4.2, "reviews": "2.3k", "thumbnail": "https://example.com/product.jpg", "productLink": "https://www.google.com/example", "oldPrice": {"value": 129.99, "currency": "$", "raw": "$129.99"}, "snippet": "Noise-canceling wireless headphones with 30-hour battery life", "snippetLinks": [{"text": "noise canceling", "link": "https://www.google.com/search?q=noise+canceling", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "position": 1}],
    ads: {"title": "Here are some 3D printers to consider", "ads": [{"title": "Bambu Lab X2D", "url": "https://www.google.com/aclk?sa=L&ai=abc", "position": 1, "price": {"value": 899.0, "currency": "$", "raw": "$899.00"}, "store": "Bambu Lab US", "rating": 4.7, "reviews": "584", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}]},
    inlineProducts: [{"title": "Sony WH-1000XM5", "position": 1, "price": {"value": 298.0, "currency": "$", "raw": "$298.00"}, "oldPrice": {"value": 399.99, "currency": "$", "raw": "$399.99"}, "store": "Amazon", "thumbnail": "https://encrypted-tbn0.gstatic.com/images?q=example", "productLink": "https://www.google.com/shopping/product/example"}],
    videos: [{"title": "The BEST 3D Printer for YOU - Don't Buy the Wrong One!", "link": "https://www.youtube.com/watch?v=g0DZnQdI-xQ", "platform": "YouTube", "channel": "3D Print Dood", "duration": "08:49", "thumbnail": "https://encrypted-tbn3.gstatic.com/images?q=tbn:ANd9GcS5Bntg3F0Y7P3YgTPgdyillyeCguV_YQJ99KFUmNYxm...", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}],
    map: [{"title": "Gion District", "index": 0, "thumbnail": "https://lh5.googleusercontent.com/p/example", "rating": 4.5, "reviews": 2900, "type": "Tourist attraction", "address": "510 Atlantic Ave, Boston, MA 02210", "status": "Open now", "placeId": "/g/1tglgvbk", "phone": "+16177471000", "website": "https://www.thedagnyboston.com/", "link": "https://maps.google.com/?cid=11340480041048787817", "gpsCoordinates": {"latitude": 40.7831, "longitude": -73.9712}}],
    productResults: [{"title": "Apple iPhone 17", "stores": [{"name": "Apple", "link": "https://www.apple.com/shop/buy-iphone/iphone-17", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk", "price": {"value": 799, "currency": "USD", "raw": "$799.00"}, "description": "iPhone 17 256GB White - Apple", "condition": "New", "reviews": "2.3k"}], "specifications": {"general": {"Brand": "Apple", "Storage": "256 GB"}}}],
  },
  google: {
    organicResults: [{"position": 1, "title": "Best Laptops for Programming in 2024", "link": "https://example.com/best-programming-laptops", "displayedLink": "https://example.com", "snippet": "Looking for the best programming laptops? We've tested and reviewed the top options...", "date": "2 days ago", "page": 1, "sitelinks": {"inline": [{"title": "Specifications", "link": "https://example.com/specs", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}]}, "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}],
    peopleAlsoAsk: [{"question": "What specs should I look for in a programming laptop?", "snippet": "Key specifications include RAM, processor, storage, and display quality...", "title": "Essential laptop specs for developers", "link": "https://example.com/laptop-specs", "sources": [{"label": "Programming Laptop Guide", "url": "https://example.com/guide", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}],
    peopleAreSaying: [{"position": 1, "title": "Best running shoes 2026 - what runners are saying", "link": "https://www.reddit.com/r/running/comments/example/", "date": "5 days ago", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}],
    localResults: [{"position": 1, "title": "Joe's Pizza Broadway", "placeId": "/g/11bw4ws2mt", "rating": 4.4, "reviews": "26K", "price": "$10–20", "type": "Pizza", "yearsInBusiness": "80+ years in business", "address": "1435 Broadway", "phone": "(212) 555-0100", "hours": "Open · Closes 11 PM", "description": "\"Fast service, great atmosphere, and truly scrumptious pizza.\"", "links": {"website": "https://villageplumbing.com/", "directions": "https://www.google.com/maps/dir//Village+Plumbing,+Air+%26+Electric", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}}],
    localResultsMoreLink: "https://www.google.com/search?q=italian+restaurants+in+toronto&udm=1",
    relatedSearches: [{"query": "best budget laptop for coding", "link": "https://google.com/search?q=best+budget+laptop+for+coding"}],
    ads: [{"position": 1, "blockPosition": "top", "type": "RESULT", "title": "Best Programming Laptops - Shop Now", "url": "https://example.com/programming-laptops", "page": 1, "displayedUrl": "example.com/laptops", "domain": "example.com", "description": "Shop our selection of programming laptops with fast shipping.", "category": "Sponsored products", "price": {"value": 1199, "currency": "$", "raw": "$1,199"}, "oldPrice": {"value": 1299, "currency": "$", "raw": "$1,299"}, "store": "Apple", "imageUrl": "https://encrypted-tbn0.gstatic.com/images?q=tbn:...", "sitelinks": [{"url": "https://example.com/gaming-laptops", "title": "Gaming Laptops", "description": "High-performance laptops for gaming"}]}],
    aioverview: {"sources": [{"position": 1, "url": "https://example.com/programming-laptops", "label": "Best Programming Laptops 2026", "description": "Comprehensive guide to choosing the perfect laptop for software development", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "citationPills": [{"label": "Chase Personal Credit Cards", "citationPillId": 1, "url": "https://www.chase.com/personal/credit-cards", "domain": "chase.com", "description": "Personal credit cards from Chase.", "position": 2}, {"label": "JustAnswer Computer Help", "citationPillId": 1, "url": "https://www.justanswer.com/computer/help", "domain": "justanswer.com", "position": 4}], "relatedLinks": [{"label": "Compare developer laptops", "citationPillId": 1, "url": "https://www.google.com/search?q=developer+laptops&ibp=oshop", "domain": "google.com"}], "text": "Based on current information, the best laptops for programming typically include models from Appl...", "markdown": "Based on current information, the best laptops for programming typically include models from Appl...", "videos": [{"url": "https://www.youtube.com/watch?v=example", "title": "Best Laptops for Programming 2024", "thumbnail": "https://example.com/thumbnail.jpg", "source": "Tech Channel", "platform": "YouTube", "date": "2 days ago", "duration": "12:34", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "places": [{"title": "Gion District", "index": 0, "thumbnail": "https://lh5.googleusercontent.com/p/example", "rating": 4.5, "reviews": 2900, "type": "Tourist attraction", "address": "510 Atlantic Ave, Boston, MA 02210", "status": "Open now", "placeId": "/g/1tglgvbk", "phone": "+16177471000", "website": "https://www.thedagnyboston.com/", "link": "https://www.google.com/searchviewer/10?svid=CAwSGxIZCgNwdnESEkNnc3ZaeTh4ZGpGMGJqWTBlURgK", "priceLevel": "$$"}], "map": [{"title": "Gion District", "index": 0, "thumbnail": "https://lh5.googleusercontent.com/p/example", "rating": 4.5, "reviews": 2900, "type": "Tourist attraction", "address": "510 Atlantic Ave, Boston, MA 02210", "status": "Open now", "placeId": "/g/1tglgvbk", "phone": "+16177471000", "website": "https://www.thedagnyboston.com/", "link": "https://maps.google.com/?cid=11340480041048787817", "gpsCoordinates": {"latitude": 40.7831, "longitude": -73.9712}}], "ads": [{"position": 1, "title": "QA Software Testing Services - On-Demand Software Testing", "url": "https://www.testlio.com", "type": "TEXT", "domain": "Testlio", "description": "Dynamic staffing. Global coverage. Managed manual testing and test automation solutions.", "price": {"value": 69.99, "currency": "$", "raw": "$69.99"}, "old_price": {"value": 99.99, "currency": "$", "raw": "$99.99"}, "store": "Best Buy", "image": "https://encrypted-tbn0.gstatic.com/images?q=tbn:ANd9GcQ..."}]},
    shoppingCards: [{"title": "ASICS Women's Gel-Nimbus 28", "position": 1, "promoLabel": "20% OFF", "category": "More products", "price": {"value": 169.99, "currency": "$", "raw": "$169.99"}, "oldPrice": {"value": 199.99, "currency": "$", "raw": "$199.99"}, "store": "DICK'S Sporting Goods", "rating": 4.5, "reviews": "384", "thumbnail": "https://example.com/product.jpg"}],
    knowledgeGraph: {"title": "Eminem", "type": "American rapper", "kgmid": "/m/01vs_v8", "description": "Marshall Bruce Mathers III, known professionally as Eminem, is an American rapper, songwriter, an...", "imageUrl": "https://encrypted-tbn0.gstatic.com/images?q=tbn:...", "website": "https://www.eminem.com", "menu": "https://www.restaurant.com/menu", "trailer": "https://www.youtube.com/watch?v=example", "source": {"name": "Wikipedia", "link": "https://en.wikipedia.org/wiki/Eminem", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}, "attributes": [{"key": "Born", "value": "October 17, 1972"}], "profiles": [{"name": "Instagram", "link": "https://www.instagram.com/eminem/", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "peopleAlsoSearchFor": [{"name": "Jay-Z", "link": "https://www.google.com/search?q=Jay-Z", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "thingsToKnow": [{"label": "Albums", "subtitle": "The Slim Shady LP, The Marshall Mathers LP, ..."}], "ratings": [{"platform": "Rotten Tomatoes", "rating": "88%", "link": "https://www.rottentomatoes.com/m/8_mile", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "streamingOptions": [{"platform": "Netflix", "link": "https://www.netflix.com/title/example", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "webRatings": [{"platform": "Google", "rating": "4.5", "link": "https://www.google.com/maps/place/...", "votes": "1,234", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "statsCard": {"context": "2023-24 NBA season", "stats": [{"label": "Points per game", "value": "27.1"}]}, "socialPosts": [{"platform": "X", "text": "New album dropping Friday 🔥", "link": "https://x.com/eminem/status/...", "date": "2 days ago", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "notableAlumni": [{"name": "Barack Obama", "link": "https://www.google.com/search?q=Barack+Obama", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "contact": [{"label": "Order online", "url": "https://www.restaurant.com/order", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "weather": {"temperature": "72°F", "condition": "Sunny"}, "rating": {"rating": "4.5", "count": "2,847"}, "admission": [{"provider": "Official website", "price": "$17", "link": "https://www.louvre.fr/en/tickets", "badge": "Best price", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "artworks": [{"title": "Mona Lisa", "link": "https://www.google.com/search?q=Mona+Lisa", "author": "Leonardo da Vinci", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "has3dModel": true, "hotelOptions": [{"provider": "Booking.com", "price": "$189/night", "link": "https://www.booking.com/hotel/...", "note": "Includes breakfast", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "trendingProducts": [{"title": "Air Max 90", "price": "$120", "link": "https://www.nike.com/t/air-max-90", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "merchantVideos": [{"title": "Foot Locker Week of Greatness", "link": "https://www.youtube.com/watch?v=...", "platform": "YouTube", "duration": "2:34", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "listenOn": [{"platform": "Spotify", "link": "https://open.spotify.com/artist/...", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}], "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"},
    productResults: [{"title": "Apple iPhone 17", "stores": [{"name": "Apple", "link": "https://www.apple.com/shop/buy-iphone/iphone-17", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk", "price": {"value": 799, "currency": "USD", "raw": "$799.00"}, "description": "iPhone 17 256GB White - Apple", "condition": "New", "reviews": "2.3k"}], "specifications": {"general": {"Brand": "Apple", "Storage": "256 GB"}}}],
    html: ["https://cdn.cloro.dev/results/b83e8dfd-c3a1-4b98-83b9-af91adc21e26/page-1.html"],
  },
  googleNews: {
    newsResults: [{"position": 1, "title": "Major Climate Summit Reaches Historic Agreement", "link": "https://example.com/climate-summit-agreement", "snippet": "World leaders agreed on new climate targets at the summit...", "source": "The Guardian", "date": "2 hours ago", "page": 1, "thumbnail": "https://example.com/images/climate-summit.jpg", "redirectLink": "https://www.google.com/goto?url=CAESaAHrOzAVev0pi_wnTxm1qpiZTmMyAllabLr1or10ZCfvJKPk"}],
    html: ["https://cdn.cloro.dev/results/a12b3c4d-5e6f-7g8h-9i0j-k1l2m3n4o5p6/page-1.html"],
  },
}

describe("Engine.decodeResult", () => {
  it.each(Engine.names)("decodes the spec example of %s, ignoring unknown fields", (name) => {
    const example: Readonly<Record<string, unknown>> = specExamples[name]
    const decoded = Engine.decodeResult(name, { ...example, addedLater: { nested: true } })
    expect(Either.isRight(decoded)).toBe(true)
    if (Either.isRight(decoded)) {
      // The knowledge graph keeps only its main fields; everything else comes back as sent.
      const exceptKnowledgeGraph = (record: object) =>
        Object.fromEntries(Object.entries(record).filter(([key]) => key !== "knowledgeGraph"))
      expect(exceptKnowledgeGraph(decoded.right)).toEqual(exceptKnowledgeGraph(example))
      expect("addedLater" in decoded.right).toBe(false)
    }
  })

  it("keeps the typed fields a user reads", () => {
    const chatgpt = Either.getOrThrow(Engine.decodeResult("chatgpt", specExamples.chatgpt))
    expect(chatgpt.sources[2]?.footnote).toBe(true)
    expect(chatgpt.citationPills?.[0]).toMatchObject({ citationPillId: 0, type: "searchResult", domain: "example.com" })
    expect(chatgpt.shoppingCards?.[0]?.products?.[0]?.offers?.[0]?.price_details?.total).toBe("$57.00")
    expect(chatgpt.model).toBe("gpt-5-5")

    const google = Either.getOrThrow(Engine.decodeResult("google", specExamples.google))
    expect(google.organicResults?.[0]?.position).toBe(1)
    expect(google.aioverview?.citationPills?.map((pill) => pill.position)).toEqual([2, 4])
    expect(google.html?.[0]).toMatch(/^https:\/\/cdn\.cloro\.dev\/results\/.+\/page-1\.html$/)
    expect(google.knowledgeGraph).toMatchObject({ title: "Eminem", type: "American rapper" })
    expect(specExamples.google.knowledgeGraph).toMatchObject(google.knowledgeGraph ?? {})
    expect(google.knowledgeGraph && "weather" in google.knowledgeGraph).toBe(false)

    const aimode = Either.getOrThrow(Engine.decodeResult("aimode", specExamples.aimode))
    expect(aimode.ads?.ads?.[0]?.price?.currency).toBeDefined()
    expect(aimode.productResults?.[0]?.title).toBeDefined()
  })

  it("decodes fields cloro documents loosely: nulls, object fan-out queries, new enum values", () => {
    const chatgpt = Engine.decodeResult("chatgpt", {
      text: "t",
      sources: [],
      model: null,
      citationPills: [{ label: "", citationPillId: 0, url: "https://a.example", domain: "a.example", type: "somethingNew" }]
    })
    expect(Either.isRight(chatgpt)).toBe(true)

    const perplexity = Either.getOrThrow(
      Engine.decodeResult("perplexity", {
        text: "t",
        sources: [],
        search_model_queries: ["plain", { query: "hotels in lisbon", engine: "web", limit: 8 }]
      })
    )
    expect(perplexity.search_model_queries).toEqual(["plain", { query: "hotels in lisbon", engine: "web", limit: 8 }])

    expect(Either.isRight(Engine.decodeResult("google", { aioverview: null }))).toBe(true)
    expect(Either.isRight(Engine.decodeResult("google", {}))).toBe(true)
  })

  it("defaults text and sources, which the spec does not require, on the AI engines", () => {
    for (const name of ["chatgpt", "perplexity", "gemini", "copilot", "grok", "aimode"] as const) {
      const textOnly = Engine.decodeResult(name, { text: "t" })
      expect(Either.isRight(textOnly) && textOnly.right.sources).toEqual([])
      const sourcesOnly = Engine.decodeResult(name, { sources: [] })
      expect(Either.isRight(sourcesOnly) && sourcesOnly.right.text).toBe("")
      const nulls = Engine.decodeResult(name, { text: null, sources: null })
      expect(Either.isRight(nulls) && [nulls.right.text, nulls.right.sources]).toEqual(["", []])
      // a source without a url (optional in the spec) is kept
      const noUrl = Engine.decodeResult(name, { text: "t", sources: [{ label: "x" }] })
      expect(Either.isRight(noUrl) && noUrl.right.sources[0]?.url).toBeUndefined()
      expect(Either.isRight(noUrl) && noUrl.right.sources.length).toBe(1)
      expect(Either.isLeft(Engine.decodeResult(name, { text: 1 }))).toBe(true)
    }
  })

  it("rejects a wrongly typed documented field", () => {
    expect(Either.isLeft(Engine.decodeResult("googleNews", { html: "https://cdn.cloro.dev/x.html" }))).toBe(true)
    expect(Either.isLeft(Engine.decodeResult("grok", { text: "t", sources: [{ url: 1 }] }))).toBe(true)
  })
})

describe("Engine.knownFields and Engine.withUnknownFields", () => {
  it("lists each engine's request fields", () => {
    expect(Engine.knownFields("chatgpt")).toContain("prompt")
    expect(Engine.knownFields("google")).toEqual(expect.arrayContaining(["query", "url", "gl", "country", "pages"]))
    for (const name of Engine.names) expect(Engine.knownFields(name).length).toBeGreaterThan(2)
  })

  it("adds fields the library does not know and refuses the ones it does", () => {
    const request = { prompt: "Hi", country: "US" } as const
    expect(Engine.withUnknownFields("chatgpt", request, { brandNewParam: true })).toEqual(
      Either.right({ prompt: "Hi", country: "US", brandNewParam: true })
    )
    expect(Engine.withUnknownFields("chatgpt", request, undefined)).toEqual(Either.right(request))
    const shadow = Engine.withUnknownFields("chatgpt", request, { include: {} })
    expect(Either.isLeft(shadow) && shadow.left.issues.map((i) => i.field)).toEqual(["unknownFields.include"])
  })
})
