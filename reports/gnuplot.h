#pragma once
// Figures as gnuplot data + script files, rendered by the gnuplot binary.
//
// Every figure is a `.dat` file and a `.gp` script that draws it in each
// requested format; the script is complete, so a user can edit it and run
// `gnuplot NAME.gp` in the figures folder without scalelab.
#include <string>
#include <vector>

namespace scalelab::reports {

// One figure: its data, and one or two panels of gnuplot commands. Panels sit
// side by side in image files and one below the other on the terminal.
struct Figure {
  std::string name;       // file stem: NAME.gp, NAME.png, ...
  std::string title;      // heading in the report
  std::string caption;    // what it shows, in a sentence or two
  std::string data_file;  // "" = NAME.dat
  std::string data;       // written to data_file (once, when figures share one)
  std::vector<std::string> panels;
  std::vector<std::string> panel_titles;  // for the terminal, where panels are separate plots
  // Files only: `keyentry ...` items drawn as one legend in a strip above the
  // panels (a legend inside a panel would cover data). Panels then unset their keys.
  std::vector<std::string> legend;
  std::string dat() const { return data_file.empty() ? name + ".dat" : data_file; }
};

// The complete NAME.gp. `about` goes into its header comment (sanitised).
std::string gnuplot_script(const Figure&, const std::string& about, const std::vector<std::string>& formats);

// Writes each figure's data and script into dir and renders them, several
// gnuplot processes at a time. Throws std::runtime_error with gnuplot's
// message if a script fails (that is a bug in scalelab, not bad input).
void render_files(const std::string& gnuplot, const std::string& dir, const std::vector<Figure>&,
                  const std::vector<std::string>& formats, const std::string& about);

// One panel of a figure on gnuplot's dumb terminal, as text.
std::string render_dumb(const std::string& gnuplot, const Figure&, std::size_t panel, int columns, int rows,
                        bool color);

// ---- helpers for writing figures
std::string num(double v);                      // a number for data files and scripts
std::string sq(const std::string& text);        // a single-quoted gnuplot string: no escapes, no `cmd` substitution
std::string comment(const std::string& text);   // one safe comment line (no newline, no control characters)

// `set logscale` for an axis (x, y, x2, cb) over [lo, hi] with tics that
// show at least a few labelled values even when the range is under a decade.
// plain: labels like 1e+05 instead of enhanced-text 10^{5} (the dumb terminal prints markup as is).
std::string log_axis(const std::string& axis, double lo, double hi, bool plain = false);

// Resets what one panel may have set, so panels in a multiplot start clean.
extern const char* const kPanelReset;

// Colour-blind-safe colours (Okabe and Ito 2008) for the fitting approaches.
struct Style {
  static constexpr const char* approach1 = "#0072b2";
  static constexpr const char* approach2 = "#d55e00";
  static constexpr const char* approach3 = "#009e73";
  static constexpr const char* power = "#cc79a7";
  static constexpr const char* kaplan = "#e69f00";
  static constexpr const char* reference = "#666666";
  static constexpr const char* holdout = "#c0392b";
};

}  // namespace scalelab::reports
