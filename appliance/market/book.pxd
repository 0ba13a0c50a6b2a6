# C types for book.py when Cython compiles it; the interpreter ignores this file.

cdef class _Ladder:
    cdef long better
    cdef list levels

    cdef void load(self, object levels)
    cdef object best(self)
    cdef object best_lots(self)
    cdef list top(self, Py_ssize_t n)


cdef class Book:
    cdef readonly str symbol
    cdef readonly long long last_update_id
    cdef _Ladder _bids
    cdef _Ladder _asks
