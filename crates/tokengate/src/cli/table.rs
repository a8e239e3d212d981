//! How API answers print: aligned columns (two spaces apart, headers in capitals) or the
//! answer's JSON. Times arrive from the API as ISO 8601 UTC and print as they came.

use serde::Serialize;

use super::admin_target::Output;
use super::CliError;

pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Table {
        Table { headers: headers.to_vec(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut text = String::new();
            for (i, cell) in cells.enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(cell.chars().count());
                text.extend(std::iter::repeat_n(' ', pad));
            }
            text.trim_end().to_owned()
        };
        let mut out = line(&mut self.headers.iter().copied());
        for row in &self.rows {
            out.push('\n');
            out.push_str(&line(&mut row.iter().map(String::as_str)));
        }
        out
    }

    pub fn print(&self) {
        println!("{}", self.render());
    }
}

/// `name  value` lines for one object (`show` commands).
pub fn print_fields(fields: &[(&str, String)]) {
    let width = fields.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, value) in fields {
        println!("{name:<width$}  {value}");
    }
}

pub fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// JSON for `-o json`, else what `table` prints.
pub fn emit<T: Serialize>(output: Output, value: &T, table: impl FnOnce(&T)) -> Result<(), CliError> {
    match output {
        Output::Json => print_json(value),
        Output::Table => {
            table(value);
            Ok(())
        }
    }
}

/// A list cell: comma-separated, or `-` when empty.
pub fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items.join(",")
    }
}

/// An optional cell: the value or `-`.
pub fn opt(value: Option<&str>) -> String {
    value.unwrap_or("-").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_on_the_widest_cell_and_lines_carry_no_trailing_space() {
        let mut t = Table::new(&["ID", "NAME"]);
        t.row(vec!["1".into(), "short".into()]);
        t.row(vec!["12345".into(), "x".into()]);
        assert_eq!(t.render(), "ID     NAME\n1      short\n12345  x");
    }

    #[test]
    fn empty_cells_print_a_dash() {
        assert_eq!(list(&[]), "-");
        assert_eq!(list(&["a".into(), "b".into()]), "a,b");
        assert_eq!(opt(None), "-");
    }
}
