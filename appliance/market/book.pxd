# C types for book.py when Cython compiles it; the interpreter ignores this file.

cdef bint _checked(object price, object lots) except -1


cdef class _Ladder:
    cdef long sign
    cdef dict lots
    cdef list keys

    cdef void load(self, object levels)
    cdef object best(self)
    cdef object best_lots(self)
    cdef list top(self, Py_ssize_t n)


cdef class Book:
    cdef readonly str symbol
    cdef readonly long long last_update_id
    cdef _Ladder _bids
    cdef _Ladder _asks
