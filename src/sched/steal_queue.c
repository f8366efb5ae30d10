/* The lock-free work-stealing ring. Positions are 16-bit and wrap; the
 * distance between two of them is taken modulo 2^16 and never exceeds the
 * capacity. */
#include "sched/steal_queue.h"

#define MASK (STEAL_QUEUE_CAP - 1)

static uint32_t pack(uint16_t steal, uint16_t real)
{
    return ((uint32_t)steal << 16) | real;
}

static uint16_t steal_of(uint32_t head)
{
    return (uint16_t)(head >> 16);
}

static uint16_t real_of(uint32_t head)
{
    return (uint16_t)head;
}

void eddy__steal_queue_init(eddy_steal_queue *q)
{
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    for (unsigned i = 0; i < STEAL_QUEUE_CAP; i++) {
        atomic_init(&q->buf[i], NULL);
        q->hint[i] = NULL;
    }
}

static eddy_task *slot_get(eddy_steal_queue *q, uint16_t pos)
{
    return atomic_load_explicit(&q->buf[pos & MASK], memory_order_relaxed);
}

/* Only the ring's owner calls it (a stealer fills its own ring). */
static void slot_set(eddy_steal_queue *q, uint16_t pos, eddy_task *t, const void *hint)
{
    q->hint[pos & MASK] = hint;
    atomic_store_explicit(&q->buf[pos & MASK], t, memory_order_relaxed);
}

/* Where task t, which nobody else runs or may steal yet, will resume;
 * tagged in bit 0 if it parked (see eddy_steal_queue.hint). */
static const void *resume_hint(const eddy_task *t)
{
    if (!t->started)
        return NULL;
    uintptr_t sp = (uintptr_t)eddy__ctx_sp(&t->fiber.ctx);
    return (const void *)(t->exit == TASK_YIELDED ? sp : sp | 1);
}

/* Claims the older half of a full ring for the overflow batch. False if a
 * stealer got in first (the caller retries the push). */
static bool push_overflow(eddy_steal_queue *q, uint32_t head, uint16_t tail, eddy_task *t,
                          eddy_task_queue *overflow)
{
    const uint16_t half = STEAL_QUEUE_CAP / 2;
    uint16_t real = real_of(head);
    uint32_t next = pack((uint16_t)(real + half), (uint16_t)(real + half));
    if (!atomic_compare_exchange_strong_explicit(&q->head, &head, next, memory_order_acq_rel,
                                                 memory_order_acquire))
        return false;
    (void)tail;
    for (uint16_t i = 0; i < half; i++)
        eddy__queue_push(overflow, slot_get(q, (uint16_t)(real + i)));
    eddy__queue_push(overflow, t);
    return true;
}

bool eddy__steal_queue_push(eddy_steal_queue *q, eddy_task *t, eddy_task_queue *overflow)
{
    for (;;) {
        uint32_t head = atomic_load_explicit(&q->head, memory_order_acquire);
        uint16_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
        uint16_t steal = steal_of(head);
        if ((uint16_t)(tail - steal) < STEAL_QUEUE_CAP) {
            slot_set(q, tail, t, resume_hint(t));
            atomic_store_explicit(&q->tail, (uint16_t)(tail + 1), memory_order_release);
            return false;
        }
        if (steal != real_of(head)) {
            /* A stealer is emptying the ring: it will have room soon, but
             * the task must go somewhere now. */
            eddy__queue_push(overflow, t);
            return true;
        }
        if (push_overflow(q, head, tail, t, overflow))
            return true;
    }
}

eddy_task *eddy__steal_queue_pop(eddy_steal_queue *q)
{
    uint32_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    for (;;) {
        uint16_t steal = steal_of(head), real = real_of(head);
        uint16_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
        if (real == tail)
            return NULL;
        uint16_t next_real = (uint16_t)(real + 1);
        uint32_t next = steal == real ? pack(next_real, next_real) : pack(steal, next_real);
        if (atomic_compare_exchange_weak_explicit(&q->head, &head, next, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            const void *after = next_real != tail ? q->hint[next_real & MASK] : NULL;
            if (after)
                eddy__ctx_prefetch_resume((const void *)((uintptr_t)after & ~(uintptr_t)1),
                                          (uintptr_t)after & 1);
            return slot_get(q, real);
        }
    }
}

unsigned eddy__steal_queue_len(eddy_steal_queue *q)
{
    uint32_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    uint16_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    return (uint16_t)(tail - real_of(head));
}

eddy_task *eddy__steal_queue_steal(eddy_steal_queue *src, eddy_steal_queue *dst)
{
    uint16_t dst_tail = atomic_load_explicit(&dst->tail, memory_order_relaxed);

    /* Claim half of src's tasks by moving its real head forward. */
    uint32_t prev = atomic_load_explicit(&src->head, memory_order_acquire);
    uint32_t next;
    uint16_t first, n;
    for (;;) {
        uint16_t steal = steal_of(prev), real = real_of(prev);
        if (steal != real)
            return NULL; /* another stealer is at work */
        uint16_t tail = atomic_load_explicit(&src->tail, memory_order_acquire);
        n = (uint16_t)(tail - real);
        n = (uint16_t)(n - n / 2);
        if (n == 0)
            return NULL;
        first = real;
        next = pack(steal, (uint16_t)(real + n));
        if (atomic_compare_exchange_weak_explicit(&src->head, &prev, next, memory_order_acq_rel,
                                                  memory_order_acquire))
            break;
    }

    /* Copy them; the last one is run at once, the others queued in dst.
     * Their hints come along: src's owner wrote them before it published
     * the slots, and leaves them alone until the steal releases them.
     * (Reading each task for its hint instead would be a cache miss per
     * task, taken while src's owner cannot wrap its ring.) */
    for (uint16_t i = 0; i + 1 < n; i++) {
        uint16_t from = (uint16_t)(first + i);
        slot_set(dst, (uint16_t)(dst_tail + i), slot_get(src, from), src->hint[from & MASK]);
    }
    eddy_task *ret = slot_get(src, (uint16_t)(first + n - 1));

    /* Release the slots: steal catches up with real (which the owner may
     * have moved meanwhile). */
    prev = next;
    for (;;) {
        uint16_t real = real_of(prev);
        if (atomic_compare_exchange_weak_explicit(&src->head, &prev, pack(real, real),
                                                  memory_order_acq_rel, memory_order_acquire))
            break;
    }
    if (n > 1)
        atomic_store_explicit(&dst->tail, (uint16_t)(dst_tail + n - 1), memory_order_release);
    return ret;
}
