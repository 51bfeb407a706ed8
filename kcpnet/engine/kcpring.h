// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// A growable ring buffer (double-ended queue) used by the engine's queues.
// Unlike std::deque it allocates nothing while empty, indexes in O(1) with a mask,
// and gives its storage back on request (release()), so an idle engine stays small.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace kcpnet {

template <typename T>
class KcpRing
{
public:
    KcpRing() = default;
    KcpRing(const KcpRing &) = delete;
    KcpRing &operator=(const KcpRing &) = delete;
    KcpRing(KcpRing &&other) noexcept { swap(other); }
    KcpRing &operator=(KcpRing &&other) noexcept
    {
        KcpRing tmp(std::move(other));
        swap(tmp);
        return *this;
    }

    bool empty() const noexcept { return m_size == 0; }
    std::size_t size() const noexcept { return m_size; }
    std::size_t capacity() const noexcept { return m_capacity; }

    T &operator[](std::size_t i) noexcept { return m_slots[(m_head + i) & (m_capacity - 1)]; }
    const T &operator[](std::size_t i) const noexcept { return m_slots[(m_head + i) & (m_capacity - 1)]; }
    T &front() noexcept { return (*this)[0]; }
    const T &front() const noexcept { return (*this)[0]; }
    T &back() noexcept { return (*this)[m_size - 1]; }
    const T &back() const noexcept { return (*this)[m_size - 1]; }

    T &push_back(T &&value)
    {
        if (m_size == m_capacity)
            grow(m_size + 1);
        T &slot = (*this)[m_size];
        slot = std::move(value);
        ++m_size;
        return slot;
    }

    // Appends a default-valued element and returns it.
    T &emplace_back()
    {
        if (m_size == m_capacity)
            grow(m_size + 1);
        T &slot = (*this)[m_size];
        slot = T();
        ++m_size;
        return slot;
    }

    // Removes the first element; its slot is reset so that owned memory is freed.
    void pop_front() noexcept
    {
        m_slots[m_head] = T();
        m_head = (m_head + 1) & (m_capacity - 1);
        --m_size;
    }

    void clear() noexcept
    {
        while (m_size)
            pop_front();
        m_head = 0;
    }

    // Ensures room for n elements without reallocation.
    void reserve(std::size_t n)
    {
        if (n > m_capacity)
            grow(n);
    }

    // Frees the storage when empty.
    void release() noexcept
    {
        if (m_size == 0) {
            m_slots.reset();
            m_capacity = 0;
            m_head = 0;
        }
    }

    // Heap bytes owned by the ring itself (not by its elements).
    std::size_t heapBytes() const noexcept { return m_capacity * sizeof(T); }

private:
    void swap(KcpRing &o) noexcept
    {
        std::swap(m_slots, o.m_slots);
        std::swap(m_capacity, o.m_capacity);
        std::swap(m_head, o.m_head);
        std::swap(m_size, o.m_size);
    }

    void grow(std::size_t need)
    {
        std::size_t cap = m_capacity ? m_capacity : 4;
        while (cap < need)
            cap *= 2;
        std::unique_ptr<T[]> fresh(new T[cap]);
        for (std::size_t i = 0; i < m_size; ++i)
            fresh[i] = std::move((*this)[i]);
        m_slots = std::move(fresh);
        m_capacity = cap;
        m_head = 0;
    }

    std::unique_ptr<T[]> m_slots;
    std::size_t m_capacity = 0; // always 0 or a power of two
    std::size_t m_head = 0;
    std::size_t m_size = 0;
};

} // namespace kcpnet
