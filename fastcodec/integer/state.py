"""The frozen integer prior networks in a weights file: everything but the integer weights
themselves, which a loader rebuilds exactly from the fp16 float weights (weight_q = round(W *
2^w_exp)) and checks against the stored digest. Biases and shifts are int64."""
import torch

from fastcodec.integer.network import IntLayer, weight_digest


def int_weights(net):
    """The integer weight tensors of a frozen network (an int32 IntConvNet or a v1 IntSequential)."""
    if hasattr(net, "int_weights"):
        return net.int_weights()
    return [m.weight_q for m in net.layers if isinstance(m, IntLayer)]


def int_net_state(net, prefix):
    """{prefix + name: tensor} of a frozen network to ship beside its float weights."""
    state = net.state_dict()
    out = {prefix + k: v.to(torch.int64).contiguous() for k, v in state.items() if not k.endswith("weight_q")}
    out[prefix + "weights_digest"] = weight_digest(int_weights(net))
    return out


def load_int_net(float_net, in_channels, tensors, prefix):
    """The frozen network of `float_net` (the float h_s it was frozen from) rebuilt from the
    int_net_state() tensors under `prefix`, layer formats included; None when there are none.
    ValueError when the rebuilt integers do not match the stored digest."""
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    if not state:
        return None
    digest = state.pop("weights_digest", None)
    if "version" in state:   # an int32 network (fastcodec.integer.conv)
        from fastcodec.integer.conv import FORMAT_VERSION, IntConvNet

        if int(state["version"].reshape(-1)[0]) != FORMAT_VERSION:
            raise ValueError(f"integer h_s format {int(state['version'].reshape(-1)[0])} is not supported")
        net = IntConvNet.skeleton(float_net, state)
        if digest is None:
            raise ValueError("the integer h_s has no weights digest")
        net.rebuild_weights(float_net)
    else:                    # a v1 network (fastcodec.integer.network)
        from fastcodec.integer import freeze_sequential
        from fastcodec.integer.network import rebuild_weights

        # the layer structure follows the float net; the shapes and values come from the stored tensors
        net = freeze_sequential(float_net.float().cpu(), [torch.zeros(1, in_channels, 2, 2)])
        own = net.state_dict()
        net.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=digest is None)
        if digest is not None:  # weights shipped as float only: rebuild the integers
            rebuild_weights(net, float_net)
    if digest is not None and not torch.equal(weight_digest(int_weights(net)), digest):
        raise ValueError("the integer h_s rebuilt from the float weights does not match its digest")
    if hasattr(net, "core"):
        net.core()  # validates the no-overflow bounds in C++ now, not mid-decode
    return net
