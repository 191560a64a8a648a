#include "training/image_transform.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <locale>
#include <sstream>
#include <vector>

namespace persephonee {
namespace {

// ln 2 split so that k * kLn2Hi is exact for |k| < 2^20 (fdlibm's constants).
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kInvLn2 = 1.44269504088896338700e+00;
constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kPiOver180 = 0.017453292519943295769;
constexpr int kMaxSide = 4096;

uint64_t Finalise(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Reads pixel (row, col) of a uint8 image, 0 outside it.
inline double PixelOrZero(const uint8_t* in, int h, int w, int row, int col) {
  if (row < 0 || row >= h || col < 0 || col >= w) return 0.0;
  return static_cast<double>(in[static_cast<size_t>(row) * w + col]);
}

// True if stage 1 moves anything.
bool HasGeometry(const PersonalTransform& t) {
  return t.rotation_degrees != 0.0 || t.shift_x != 0.0 || t.shift_y != 0.0 || t.mirror ||
         t.zoom != 1.0 || t.shear != 0.0;
}

// Stage 1: every output pixel maps back through the inverse shift, rotation, zoom, shear and
// mirror to a source point, sampled bilinearly. The inverse of "rotate counter-clockwise as
// displayed" (rows grow downwards) by theta is (dx, dy) = (c x' - s y', s x' + c y') for the
// offsets (x', y') of the output point from the shifted centre; then the zoom is divided out,
// the shear (x' = x + shear y) undone and the mirror (x' = -x) undone. Each of the later steps
// is skipped when neutral, so a transform without them computes exactly what it did before
// they were added.
void Resample(const PersonalTransform& t, const uint8_t* in, int h, int w, double* out) {
  double s = 0.0;
  double c = 1.0;
  PortableSinCosDegrees(t.rotation_degrees, &s, &c);
  const double cx = 0.5 * (w - 1);
  const double cy = 0.5 * (h - 1);
  for (int y = 0; y < h; ++y) {
    const double yp = (y - cy) - t.shift_y;
    for (int x = 0; x < w; ++x) {
      const double xp = (x - cx) - t.shift_x;
      double dx = c * xp - s * yp;
      double dy = s * xp + c * yp;
      if (t.zoom != 1.0) {
        dx = dx / t.zoom;
        dy = dy / t.zoom;
      }
      if (t.shear != 0.0) dx = dx - t.shear * dy;
      if (t.mirror) dx = -dx;
      const double sx = cx + dx;
      const double sy = cy + dy;
      double v = 0.0;
      // Points a pixel or more outside the image read only background (and could overflow int).
      if (sx > -1.0 && sx < w && sy > -1.0 && sy < h) {
        const double fx0 = std::floor(sx);
        const double fy0 = std::floor(sy);
        const double fx = sx - fx0;
        const double fy = sy - fy0;
        const int x0 = static_cast<int>(fx0);
        const int y0 = static_cast<int>(fy0);
        const double top =
            (1.0 - fx) * PixelOrZero(in, h, w, y0, x0) + fx * PixelOrZero(in, h, w, y0, x0 + 1);
        const double bottom = (1.0 - fx) * PixelOrZero(in, h, w, y0 + 1, x0) +
                              fx * PixelOrZero(in, h, w, y0 + 1, x0 + 1);
        v = (1.0 - fy) * top + fy * bottom;
      }
      out[static_cast<size_t>(y) * w + x] = v;
    }
  }
}

// Calls f(v) for every pixel v of `image` inside `r`, clipped to the h x w image.
template <typename F>
void ForEachInRect(const PixelRect& r, int h, int w, double* image, F f) {
  const int x0 = std::max(r.x, 0);
  const int y0 = std::max(r.y, 0);
  const int x1 = std::min(r.x + r.width, w);  // |x| and width are at most 4096: no overflow
  const int y1 = std::min(r.y + r.height, h);
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) f(image[static_cast<size_t>(y) * w + x]);
  }
}

// Stage 10 on one byte: bin floor(u n / 256) of n, to round(255 bin / (n - 1)), halves up.
inline uint8_t Posterise(uint8_t u, int levels) {
  const int bin = u * levels / 256;
  return static_cast<uint8_t>((2 * 255 * bin + (levels - 1)) / (2 * (levels - 1)));
}

// Stage 2: separable Gaussian, rows then columns, zero outside the image.
void GaussianBlur(double sigma, int h, int w, double* image) {
  const int radius = static_cast<int>(std::ceil(3.0 * sigma));
  std::vector<double> kernel(2 * radius + 1);
  double sum = 0.0;
  for (int i = -radius; i <= radius; ++i) {
    kernel[i + radius] = PortableExp(-(static_cast<double>(i) * i) / (2.0 * sigma * sigma));
    sum += kernel[i + radius];
  }
  for (double& k : kernel) k /= sum;

  std::vector<double> tmp(static_cast<size_t>(h) * w);
  for (int y = 0; y < h; ++y) {
    const double* row = image + static_cast<size_t>(y) * w;
    for (int x = 0; x < w; ++x) {
      double acc = 0.0;
      for (int i = std::max(-radius, -x); i <= std::min(radius, w - 1 - x); ++i) {
        acc += kernel[i + radius] * row[x + i];
      }
      tmp[static_cast<size_t>(y) * w + x] = acc;
    }
  }
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      double acc = 0.0;
      for (int i = std::max(-radius, -y); i <= std::min(radius, h - 1 - y); ++i) {
        acc += kernel[i + radius] * tmp[static_cast<size_t>(y + i) * w + x];
      }
      image[static_cast<size_t>(y) * w + x] = acc;
    }
  }
}

inline double Clamp255(double v) { return std::min(std::max(v, 0.0), 255.0); }

}  // namespace

// --- Random numbers -------------------------------------------------------------------------

uint64_t Rng::Next() { return Finalise(state_ += 0x9E3779B97F4A7C15ull); }

double Rng::Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

double Rng::Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }

uint64_t Rng::Below(uint64_t n) {
  if (n == 0) return 0;
  // Reject the lowest (2^64 mod n) values so every residue is equally likely.
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t r = Next();
    if (r >= threshold) return r % n;
  }
}

double Rng::Normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u = 0.0;
  double v = 0.0;
  double s = 0.0;
  do {
    u = 2.0 * Uniform() - 1.0;
    v = 2.0 * Uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double f = std::sqrt(-2.0 * PortableLog(s) / s);
  spare_ = v * f;
  has_spare_ = true;
  return u * f;
}

double Rng::Exponential() { return -PortableLog(1.0 - Uniform()); }

uint64_t MixSeed(uint64_t a, uint64_t b) {
  return Finalise(Finalise(a ^ 0x9E3779B97F4A7C15ull) ^ Finalise(b + 0xD1B54A32D192ED03ull));
}

// --- Portable elementary functions -----------------------------------------------------------

double PortableLog(double x) {
  if (std::isnan(x) || x < 0.0) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0.0) return -std::numeric_limits<double>::infinity();
  if (std::isinf(x)) return x;
  // x = m 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172,
  // summed as s (1 + s^2/3 + s^4/5 + ...) up to s^30 (the next term is below 2^-77).
  int e = 0;
  double m = std::frexp(x, &e);
  if (m < kSqrtHalf) {
    m *= 2.0;
    --e;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double series = 0.0;
  for (int k = 31; k >= 3; k -= 2) series = (series + 1.0 / k) * s2;
  const double log_m = 2.0 * s + 2.0 * s * series;
  return e * kLn2Hi + (log_m + e * kLn2Lo);
}

double PortableExp(double x) {
  if (std::isnan(x)) return x;
  if (x > 709.78) return std::numeric_limits<double>::infinity();
  if (x < -745.2) return 0.0;
  // x = k ln2 + r with |r| <= ln2/2; e^r by Taylor to r^20 (the next term is below 2^-80).
  const double k = std::floor(x * kInvLn2 + 0.5);
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  double p = 1.0;
  for (int n = 20; n >= 1; --n) p = 1.0 + r * p / n;
  return std::ldexp(p, static_cast<int>(k));
}

void PortableSinCosDegrees(double degrees, double* sine, double* cosine) {
  if (!std::isfinite(degrees)) {
    *sine = *cosine = std::numeric_limits<double>::quiet_NaN();
    return;
  }
  // Reduce to the nearest multiple of 90 degrees (exact in degrees), then Taylor series on
  // |x| <= pi/4 up to x^21 / x^22 (the next terms are below 2^-80).
  const double q = std::floor(degrees / 90.0 + 0.5);
  const double x = (degrees - q * 90.0) * kPiOver180;
  const double x2 = x * x;
  double s = 1.0;
  for (int n = 21; n >= 3; n -= 2) s = 1.0 - x2 * s / (static_cast<double>(n) * (n - 1));
  s *= x;
  double c = 1.0;
  for (int n = 22; n >= 2; n -= 2) c = 1.0 - x2 * c / (static_cast<double>(n) * (n - 1));
  const double quadrant = q - 4.0 * std::floor(q / 4.0);  // 0, 1, 2 or 3
  double out_s = s;
  double out_c = c;
  if (quadrant == 1.0) {
    out_s = c;
    out_c = -s;
  } else if (quadrant == 2.0) {
    out_s = -s;
    out_c = -c;
  } else if (quadrant == 3.0) {
    out_s = -c;
    out_c = s;
  }
  *sine = out_s + 0.0;  // + 0.0 turns -0 into +0
  *cosine = out_c + 0.0;
}

// --- The transform ---------------------------------------------------------------------------

bool PersonalTransform::UsesLaterStages() const {
  return mirror || zoom != 1.0 || shear != 0.0 || !inversion.IsEmpty() || !occlusion.IsEmpty() ||
         posterise_levels != 0;
}

bool PersonalTransform::IsIdentity() const {
  return brightness == 0.0 && contrast == 1.0 && gamma == 1.0 && rotation_degrees == 0.0 &&
         shift_x == 0.0 && shift_y == 0.0 && blur_sigma == 0.0 && noise_std == 0.0 &&
         !UsesLaterStages();
}

std::string PersonalTransform::ToString() const {
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out.precision(4);
  out << "rotation=" << rotation_degrees << "deg shift=(" << shift_x << "," << shift_y
      << ") blur=" << blur_sigma << " contrast=" << contrast << " brightness=" << brightness
      << " gamma=" << gamma << " noise=" << noise_std;
  if (UsesLaterStages()) {
    out << " mirror=" << (mirror ? 1 : 0) << " zoom=" << zoom << " shear=" << shear
        << " inversion=" << inversion.width << "x" << inversion.height << "@(" << inversion.x << ","
        << inversion.y << ") occlusion=" << occlusion.width << "x" << occlusion.height << "@("
        << occlusion.x << "," << occlusion.y << ")/" << occlusion_level
        << " posterise=" << posterise_levels;
  }
  return out.str();
}

Status ValidateTransform(const PersonalTransform& t) {
  const struct {
    const char* name;
    double value;
  } all[] = {{"brightness", t.brightness}, {"contrast", t.contrast},
             {"gamma", t.gamma},           {"rotation_degrees", t.rotation_degrees},
             {"shift_x", t.shift_x},       {"shift_y", t.shift_y},
             {"blur_sigma", t.blur_sigma}, {"noise_std", t.noise_std}};
  for (const auto& p : all) {
    ENSURE(std::isfinite(p.value), "PersonalTransform: ", p.name, " is not finite (", p.value, ")");
  }
  ENSURE(t.contrast >= 0.0, "PersonalTransform: contrast ", t.contrast, " is negative");
  ENSURE(t.gamma > 0.0, "PersonalTransform: gamma ", t.gamma, " must be > 0");
  ENSURE(t.blur_sigma >= 0.0 && t.blur_sigma <= 10.0, "PersonalTransform: blur_sigma ",
         t.blur_sigma, " is outside [0, 10]");
  ENSURE(t.noise_std >= 0.0, "PersonalTransform: noise_std ", t.noise_std, " is negative");
  ENSURE(std::isfinite(t.zoom) && t.zoom >= 0.1 && t.zoom <= 10.0, "PersonalTransform: zoom ",
         t.zoom, " is outside [0.1, 10]");
  ENSURE(std::isfinite(t.shear) && t.shear >= -2.0 && t.shear <= 2.0, "PersonalTransform: shear ",
         t.shear, " is outside [-2, 2]");
  const struct {
    const char* name;
    const PixelRect& rect;
  } rects[] = {{"inversion", t.inversion}, {"occlusion", t.occlusion}};
  for (const auto& r : rects) {
    ENSURE(r.rect.x >= -kMaxSide && r.rect.x <= kMaxSide, "PersonalTransform: ", r.name, ".x ",
           r.rect.x, " is outside [", -kMaxSide, ", ", kMaxSide, "]");
    ENSURE(r.rect.y >= -kMaxSide && r.rect.y <= kMaxSide, "PersonalTransform: ", r.name, ".y ",
           r.rect.y, " is outside [", -kMaxSide, ", ", kMaxSide, "]");
    ENSURE(r.rect.width >= 0 && r.rect.width <= kMaxSide, "PersonalTransform: ", r.name, ".width ",
           r.rect.width, " is outside [0, ", kMaxSide, "]");
    ENSURE(r.rect.height >= 0 && r.rect.height <= kMaxSide, "PersonalTransform: ", r.name,
           ".height ", r.rect.height, " is outside [0, ", kMaxSide, "]");
  }
  ENSURE(t.occlusion_level >= 0 && t.occlusion_level <= 255, "PersonalTransform: occlusion_level ",
         t.occlusion_level, " is outside [0, 255]");
  ENSURE(t.posterise_levels == 0 || (t.posterise_levels >= 2 && t.posterise_levels <= 256),
         "PersonalTransform: posterise_levels ", t.posterise_levels,
         " must be 0 (off) or in [2, 256]");
  return Status::Ok();
}

Status Apply(const PersonalTransform& t, const uint8_t* in, uint8_t* out, int h, int w,
             uint64_t noise_seed) {
  RETURN_IF_ERROR(ValidateTransform(t));
  ENSURE(h > 0 && w > 0 && h <= kMaxSide && w <= kMaxSide, "Apply: image size ", h, "x", w,
         " is outside 1x1 to ", kMaxSide, "x", kMaxSide);
  ENSURE(in != nullptr && out != nullptr, "Apply: null image pointer");
  const size_t n = static_cast<size_t>(h) * w;
  if (t.IsIdentity()) {
    std::memmove(out, in, n);
    return Status::Ok();
  }

  std::vector<double> image(n);
  if (HasGeometry(t)) {
    Resample(t, in, h, w, image.data());
  } else {
    for (size_t i = 0; i < n; ++i) image[i] = in[i];
  }
  ForEachInRect(t.inversion, h, w, image.data(), [](double& v) { v = 255.0 - v; });
  const double level = t.occlusion_level;
  ForEachInRect(t.occlusion, h, w, image.data(), [level](double& v) { v = level; });
  if (t.blur_sigma > 0.0) GaussianBlur(t.blur_sigma, h, w, image.data());
  if (t.contrast != 1.0) {
    double sum = 0.0;
    for (double v : image) sum += v;
    const double mean = sum / static_cast<double>(n);
    for (double& v : image) v = mean + t.contrast * (v - mean);
  }
  for (double& v : image) v = Clamp255(v + t.brightness);
  if (t.gamma != 1.0) {
    for (double& v : image) {
      if (v > 0.0) v = 255.0 * PortableExp(t.gamma * PortableLog(v / 255.0));
    }
  }
  if (t.noise_std > 0.0) {
    Rng rng(noise_seed);
    for (double& v : image) v += t.noise_std * rng.Normal();
  }
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<uint8_t>(std::floor(Clamp255(image[i]) + 0.5));
  }
  if (t.posterise_levels > 0) {
    for (size_t i = 0; i < n; ++i) out[i] = Posterise(out[i], t.posterise_levels);
  }
  return Status::Ok();
}

}  // namespace persephonee
