/**
 * The AI assistants' answers: ChatGPT (with shopping cards and entities),
 * Perplexity (with media and related questions), Gemini, Copilot and Grok.
 *
 * @internal
 */
import type { Generated, Json } from "../generators.js"
import type { Prng } from "../prng.js"
import {
  aiBase,
  basicAnswer,
  basicSource,
  brands,
  capitalise,
  fill,
  isLocalTopic,
  isOn,
  isShoppingTopic,
  merchants,
  money,
  pills,
  priceObject,
  productName,
  rawResponse,
  searchQueries,
  type Site,
  sites,
  slug,
  titleTemplates
} from "./common.js"

/** @internal */
export const chatgpt = (prng: Prng, body: unknown): Generated => {
  const base = aiBase(prng, body)
  const { topic, sources } = base
  const legacy = isOn(body, "legacy")
  const shopping = isOn(body, "include", "shopping") && isShoppingTopic(topic)
  const products = shopping
    ? Array.from({ length: prng.int("shop.count", 2, 4) }, (_, i) => {
      const price = money(prng, `shop.price.${i}`, 20, 900)
      const merchant = prng.pick(`shop.merchant.${i}`, merchants)
      const url = `https://www.${slug(merchant)}.com/p/${prng.hex(`shop.url.${i}`, 10)}`
      return {
        title: productName(prng, `shop.name.${i}`, topic),
        position: i + 1,
        url,
        price: `$${price.toFixed(2)}`,
        merchant,
        image_urls: [`https://images.example.com/${prng.hex(`shop.img.${i}`, 12)}.jpg`],
        rating: Math.round((3.5 + prng.float(`shop.rating.${i}`) * 1.5) * 10) / 10,
        num_reviews: prng.int(`shop.reviews.${i}`, 10, 5000),
        id: prng.hex(`shop.id.${i}`, 16),
        offers: [
          {
            merchant_name: merchant,
            product_name: productName(prng, `shop.name.${i}`, topic),
            url,
            price: `$${price.toFixed(2)}`,
            available: true,
            checkoutable: false,
            price_details: { base: `$${price.toFixed(2)}`, total: `$${price.toFixed(2)}` }
          }
        ]
      }
    })
    : []
  const result: Json = {
    text: base.text,
    sources: sources.map((s, i) => ({
      ...basicSource(s),
      footnote: i >= 5,
      ...(prng.chance(`sources.dated.${i}`, 0.6)
        ? { datePublished: `${prng.pick(`sources.month.${i}`, ["January", "March", "May", "August", "October"])} ${prng.int(`sources.day.${i}`, 1, 28)}, 2026` }
        : {})
    })),
    ...base.extras,
    // ChatGPT numbers its pills from 0, unlike every other engine.
    citationPills: pills(base.paragraphs, sources, 0, () => ({ type: "searchResult" })),
    entities: prng.sample("entities", brands, prng.int("entities.count", 0, 3)).map((name) => ({ type: "brand", name })),
    ...(legacy ? { model: "gpt-5" } : {}),
    ...(isOn(body, "include", "rawResponse") ? { rawResponse: rawResponse(prng, base.text, legacy ? "gpt-5" : "auto") } : {}),
    ...(isOn(body, "include", "searchQueries")
      ? { searchQueries: searchQueries(prng, topic), mapSearchQueries: isLocalTopic(topic) ? [topic] : [] }
      : {}),
    ...(shopping
      ? {
        shoppingCards: [{ tags: ["shopping"], products }],
        inlineProducts: products.slice(0, 2).map((product) => ({ product, render_as: "inline" }))
      }
      : {}),
    ...(isOn(body, "include", "ads")
      ? {
        ads: [
          {
            brand: { name: prng.pick("ads.brand", brands), url: `https://www.${prng.hex("ads.domain", 6)}.com` },
            cards: [
              {
                title: `Try ${prng.pick("ads.brand", brands)} for ${topic}`,
                body: "Sponsored. Compare plans and start free today.",
                url: `https://www.${prng.hex("ads.domain", 6)}.com/landing`
              }
            ],
            visibility: "visible",
            adsResponseIndex: 0,
            rendered: true
          }
        ]
      }
      : {})
  }
  return { result, productClusters: 0 }
}

const mediaItem = (prng: Prng, label: string, topic: string, site: Site): Json => ({
  title: fill(prng.pick(`${label}.title`, titleTemplates), topic),
  url: `https://${site.domain}/watch/${prng.hex(`${label}.id`, 11)}`,
  thumbnail: `https://images.example.com/${prng.hex(`${label}.thumb`, 12)}.jpg`,
  medium: label.startsWith("video") ? "video" : "image",
  source: site.name,
  image_width: 1280,
  image_height: 720,
  thumbnail_width: 320,
  thumbnail_height: 180
})

/** @internal */
export const perplexity = (prng: Prng, body: unknown): Generated => {
  const base = aiBase(prng, body)
  const { topic } = base
  const result: Json = {
    ...basicAnswer(base),
    related_queries: searchQueries(prng.child("related"), topic).map((q) => `${q} for beginners`),
    videos: prng.chance("videos", 0.5) ? [mediaItem(prng, "video.0", topic, { domain: "www.youtube.com", name: "YouTube" })] : [],
    images: Array.from({ length: prng.int("images.count", 0, 3) }, (_, i) =>
      mediaItem(prng, `image.${i}`, topic, prng.pick(`image.site.${i}`, sites))),
    search_model_queries: searchQueries(prng, topic),
    ...(isShoppingTopic(topic)
      ? {
        shopping_cards: [
          {
            tags: ["shopping"],
            products: Array.from({ length: prng.int("shop.count", 1, 3) }, (_, i) => {
              const price = `$${money(prng, `shop.price.${i}`, 20, 900).toFixed(2)}`
              const merchant = prng.pick(`shop.merchant.${i}`, merchants)
              return {
                title: productName(prng, `shop.name.${i}`, topic),
                id: prng.hex(`shop.id.${i}`, 12),
                url: `https://www.${slug(merchant)}.com/p/${prng.hex(`shop.url.${i}`, 10)}`,
                price,
                merchant,
                available: true,
                imageUrls: [`https://images.example.com/${prng.hex(`shop.img.${i}`, 12)}.jpg`],
                numReviews: prng.int(`shop.reviews.${i}`, 0, 3000),
                offers: [],
                position: i + 1,
                rating: Math.round((3 + prng.float(`shop.rating.${i}`) * 2) * 10) / 10
              }
            })
          }
        ]
      }
      : {}),
    ...(isOn(body, "include", "rawResponse") ? { rawResponse: rawResponse(prng, base.text, "sonar") } : {})
  }
  return { result, productClusters: 0 }
}

/** @internal */
export const gemini = (prng: Prng, body: unknown): Generated => {
  const base = aiBase(prng, body)
  const { topic } = base
  const result: Json = {
    ...basicAnswer(base),
    ...(isLocalTopic(topic)
      ? {
        places: Array.from({ length: prng.int("places.count", 1, 3) }, (_, i) => ({
          index: i,
          title: `${prng.pick(`places.brand.${i}`, brands)} ${capitalise(topic.split(" ")[0] ?? "Place")}`,
          link: `https://www.google.com/travel/search?q=${prng.hex(`places.q.${i}`, 8)}`,
          rating: Math.round((3.5 + prng.float(`places.rating.${i}`) * 1.5) * 10) / 10,
          reviews: prng.int(`places.reviews.${i}`, 5, 3000)
        }))
      }
      : {}),
    ...(isShoppingTopic(topic)
      ? {
        shoppingCards: Array.from({ length: prng.int("shop.count", 1, 3) }, (_, i) => ({
          position: i + 1,
          title: productName(prng, `shop.name.${i}`, topic),
          productLink: `https://google.com/search?q=${prng.hex(`shop.q.${i}`, 8)}&ibp=oshop`,
          productId: String(prng.int(`shop.id.${i}`, 1_000_000_000, 9_999_999_999)),
          price: priceObject(money(prng, `shop.price.${i}`, 20, 900)),
          store: prng.pick(`shop.merchant.${i}`, merchants)
        }))
      }
      : {}),
    ...(isOn(body, "include", "rawResponse") ? { rawResponse: [[prng.hex("raw.frame", 32), base.text]] } : {})
  }
  return { result, productClusters: 0 }
}

/** @internal */
export const copilot = (prng: Prng, body: unknown): Generated => {
  const base = aiBase(prng, body)
  const { topic } = base
  const result: Json = {
    ...basicAnswer(base),
    searchQueries: searchQueries(prng, topic),
    ...(isShoppingTopic(topic)
      ? {
        shoppingCards: [
          {
            type: "shoppingProducts",
            layout: "Carousel",
            products: Array.from({ length: prng.int("shop.count", 1, 3) }, (_, i) => ({
              product: { id: prng.hex(`shop.id.${i}`, 12), groupId: prng.hex(`shop.group.${i}`, 12) },
              position: i + 1,
              offerId: prng.hex(`shop.offer.${i}`, 12),
              url: `https://www.bing.com/shop?p=${prng.hex(`shop.url.${i}`, 10)}`,
              name: productName(prng, `shop.name.${i}`, topic),
              description: `A popular choice for ${topic}.`,
              images: [{ title: "Front", url: `https://images.example.com/${prng.hex(`shop.img.${i}`, 12)}.jpg` }],
              specifications: [],
              tags: [],
              price: { amount: money(prng, `shop.price.${i}`, 20, 900), currency: "USD", currencySymbol: "$" },
              discountPrice: null,
              seller: prng.pick(`shop.merchant.${i}`, merchants),
              sellerLogoUrl: "https://images.example.com/seller.png",
              brandName: prng.pick(`shop.name.${i}.brand`, brands),
              rating: { value: Math.round((3 + prng.float(`shop.rating.${i}`) * 2) * 10) / 10, count: prng.int(`shop.reviews.${i}`, 0, 3000) },
              canTrackPrice: true
            }))
          }
        ]
      }
      : {}),
    ...(isOn(body, "include", "rawResponse") ? { rawResponse: rawResponse(prng, base.text, "copilot") } : {})
  }
  return { result, productClusters: 0 }
}

/** @internal */
export const grok = (prng: Prng, body: unknown): Generated => {
  const base = aiBase(prng, body)
  const { topic, sources } = base
  const result: Json = {
    text: base.text,
    sources: sources.map((s, i) => ({
      ...basicSource(s),
      preview: s.description,
      searchEngineText: s.label,
      siteName: s.site.name,
      metadataTitle: s.label,
      ...(prng.chance(`sources.creator.${i}`, 0.5) ? { creator: "Staff writer" } : {}),
      favicon: `https://${s.site.domain}/favicon.ico`
    })),
    searchQueries: searchQueries(prng, topic),
    model: "grok-4-auto",
    ...base.extras,
    ...(isOn(body, "include", "rawResponse") ? { rawResponse: rawResponse(prng, base.text, "grok-4-auto") } : {})
  }
  return { result, productClusters: 0 }
}

