"""How a transform pair is conditioned on the quality: the per-quality gain vectors on the latent
(fastcodec.layers.gains) and, for models that have it, the per-quality modulation of the GDN inputs
(fastcodec.layers.film) — in training (modulated activations, a quality per crop) and in coding
(folded into the convolutions at one quality, cached per quality and weights version)."""
from fastcodec.layers.film import QualityFiLM, gdn_positions, run_modulated
from fastcodec.layers.mixed import run_mixed


class Conditioning:
    """Mixed into an architecture with g_a, g_s (nn.Sequential) and gains (QualityGains)."""

    def add_film(self):
        """Per-quality modulation of the GDN inputs of g_a and g_s (fastcodec.layers.film), identity
        until trained; build(..., film=True) calls it."""
        self.film = QualityFiLM([self.g_a[i].beta.shape[0] for i in gdn_positions(self.g_a)]
                                + [self.g_s[i].beta.shape[0] for i in gdn_positions(self.g_s)],
                                self.gains.log_gain.shape[0])
        self.__dict__.pop("_film_cache", None)
        return self

    def _film_values(self, q):
        if q is None:
            raise ValueError("q: this model modulates its transforms per quality; pass the quality")
        return self.film.values(q)

    def analysis_train(self, x, q, autocast):
        """y = g_a(x) * gain(q) in a training/evaluation pass (q per crop): the layers producing y in
        float32, the rest under bf16 autocast where enabled."""
        if getattr(self, "film", None) is None:
            return run_mixed(self.g_a, x, autocast) * self.gains.gain(q)
        return run_modulated(self.g_a, x, self.film, 0, self._film_values(q), autocast) * self.gains.gain(q)

    def _coding_transform(self, name, q):
        """g_a or g_s as coding runs it at quality q: the module itself, or for a model with FiLM a
        copy with the modulation folded into its convolutions (cached per quality and weights
        version); None where q differs across the batch (then the activations are modulated)."""
        seq = getattr(self, name)
        film = getattr(self, "film", None)
        if film is None:
            return seq
        qs = q.reshape(-1)
        if not bool((qs == qs[0]).all()):
            return None
        key = (name, float(qs[0]), str(seq[0].weight.device))
        versions = tuple(p._version for p in (*seq.parameters(), *film.parameters()))
        cache = self.__dict__.setdefault("_film_cache", {})
        hit = cache.get(key)
        if hit is None or hit[0] != versions:
            if len(cache) >= 8:
                cache.pop(next(iter(cache)))
            first = 0 if name == "g_a" else len(gdn_positions(self.g_a))
            hit = cache[key] = (versions, film.folded(seq, first, qs[:1]))
        return hit[1]
