/**
 * A FIFO line of waiters with O(1) `push`, `shift` and `remove`.
 *
 * The limiters keep one of these inside a `Ref` and touch it only from the
 * `Ref`'s update functions, so every change is atomic with the counters next to
 * it. It is mutable on purpose: an immutable queue cannot drop an interrupted
 * waiter from its middle in O(1), and with 20,000 waiters a copy per arrival or
 * per departure is the quadratic cost these limiters exist to avoid.
 *
 * @internal
 */

/** One place in the line; `remove` takes it back out in O(1). */
export interface Node<A> {
  readonly value: A
  prev: Node<A> | undefined
  next: Node<A> | undefined
  /** false once the node left the line, by `shift` or by `remove` */
  queued: boolean
}

/** A doubly linked list used as a queue. */
export interface WaitQueue<A> {
  head: Node<A> | undefined
  tail: Node<A> | undefined
  length: number
}

/** An empty line. */
export const make = <A>(): WaitQueue<A> => ({ head: undefined, tail: undefined, length: 0 })

/** Joins the end of the line and returns the place, for a later `remove`. */
export const push = <A>(self: WaitQueue<A>, value: A): Node<A> => {
  const node: Node<A> = { value, prev: self.tail, next: undefined, queued: true }
  if (self.tail === undefined) {
    self.head = node
  } else {
    self.tail.next = node
  }
  self.tail = node
  self.length++
  return node
}

/** Takes the first waiter out of the line. */
export const shift = <A>(self: WaitQueue<A>): A | undefined => {
  const node = self.head
  if (node === undefined) {
    return undefined
  }
  unlink(self, node)
  return node.value
}

/**
 * Takes `node` out of the line if it is still in it. Returns false when it had
 * already left (served by `shift`), which tells an interrupted waiter that it
 * was handed something it must give back.
 */
export const remove = <A>(self: WaitQueue<A>, node: Node<A>): boolean => {
  if (!node.queued) {
    return false
  }
  unlink(self, node)
  return true
}

const unlink = <A>(self: WaitQueue<A>, node: Node<A>): void => {
  if (node.prev === undefined) {
    self.head = node.next
  } else {
    node.prev.next = node.next
  }
  if (node.next === undefined) {
    self.tail = node.prev
  } else {
    node.next.prev = node.prev
  }
  node.prev = undefined
  node.next = undefined
  node.queued = false
  self.length--
}
