"""Constants and stack arrays for kernels built for one network shape (private; imports Numba).

A per-sample kernel for a tiny network (:attr:`KernelConfig.shape
<vecnet.engines._kernel_config.KernelConfig>` set) gets its layer layout as a
constant tuple instead of the ``lay``/``offs`` arrays, and its scratch
(layer outputs, errors, gradient) and a working copy of the weights (written
back when it returns) as arrays on its own stack instead of the arrays it is
passed:

- :func:`fixed` picks the constant (when there is one) or the argument;
- :func:`scratch` makes the stack array (when it has a size) or passes the
  argument through.

Then every loop has a constant trip count and every index is a constant, so
LLVM unrolls the layers into straight-line code and keeps the stack arrays in
registers: nothing else may write to them, whereas a store into one workspace
array may, as far as the compiler knows, change any other array, and forces
reloads. The arithmetic is the same, in the same order: only where the
intermediate values live changes.

Both are plain Python for the Python twin (``NUMBA_DISABLE_JIT=1``: :func:`scratch`
returns a new zeroed array); compiled, :func:`fixed` is an overload and
:func:`scratch` an intrinsic, lowered into the kernel itself (a function may not
return memory from its own stack).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.core.errors import TypingError
from numba.extending import intrinsic, overload
from numba.np.arrayobj import make_array, populate_array


def fixed(arg, constant):
    """``constant``, unless it is the empty tuple: then ``arg``."""
    return constant if len(constant) else arg


@overload(fixed, inline="always")
def _fixed_compiled(arg, constant):
    if isinstance(constant, types.BaseTuple) and len(constant) == 0:
        return lambda arg, constant: arg
    return lambda arg, constant: constant


def _scratch_twin(arg, like, size):
    """A zeroed 1-D array of ``size`` elements of ``like``'s dtype; ``arg`` when ``size == 0``."""
    return arg if size == 0 else np.zeros(size, like.dtype)


@intrinsic(prefer_literal=True)
def _scratch_compiled(typingctx, arg, like, size):
    """``arg`` for ``size == 0``, else a C-contiguous 1-D array of ``like``'s dtype whose ``size``
    elements live in the caller's frame (an intrinsic: it is lowered into the kernel itself)."""
    if not isinstance(size, types.IntegerLiteral) or size.literal_value < 0:
        raise TypingError(f"scratch needs a constant size >= 0, got {size}")
    count = size.literal_value
    if count == 0:
        return arg(arg, like, size), lambda context, builder, signature, args: args[0]
    array_type = types.Array(like.dtype, 1, "C")

    def codegen(context, builder, signature, args):
        item = context.get_data_type(like.dtype)
        # in the entry block of the kernel (once, not per call), zero-filled there
        block = cgutils.alloca_once(builder, ir.ArrayType(item, count))
        zero = ir.Constant(ir.IntType(32), 0)
        intp = context.get_value_type(types.intp)
        itemsize = ir.Constant(intp, context.get_abi_sizeof(item))
        array = make_array(array_type)(context, builder)
        populate_array(array, data=builder.gep(block, [zero, zero]), shape=[ir.Constant(intp, count)],
                       strides=[itemsize], itemsize=itemsize, meminfo=None)
        return array._getvalue()

    return array_type(arg, like, size), codegen


scratch = _scratch_twin if config.DISABLE_JIT else _scratch_compiled
"""``scratch(arg, like, size)``: a zeroed 1-D array of ``size`` elements of ``like``'s dtype (on the
kernel's stack, when compiled), or ``arg`` itself when ``size == 0``; ``size`` a constant."""
