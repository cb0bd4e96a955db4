//! Renders a realistic Chinese incident report and checks the PDF with poppler's tools (and
//! tesseract's OCR when it is installed). Needs the Debian packages poppler-utils and
//! fonts-wqy-microhei (or another CJK font, see `Font::find_cjk`); fails without them.

use std::path::Path;
use std::process::Command;

use chrono::{FixedOffset, TimeZone};
use yunshou_pdfdoc::{render_at, Block, Document, Font};

const TITLE: &str = "网络安全事件响应报告";
const DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const ROWS: usize = 120;

fn report() -> Document {
    let s = |t: &str| t.to_string();
    let rows = (1..=ROWS)
        .map(|i| {
            vec![
                format!("{i:03}"),
                format!("2024-03-05 02:{:02}:{:02}", i / 60 % 60, i % 60),
                format!("203.0.113.{}", i % 250),
                match i % 3 {
                    0 => s("SSH 登录失败（用户名 root），来源地址位于境外"),
                    1 => s(
                        "Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2",
                    ),
                    _ => format!("可疑进程写入 /tmp/.x，文件摘要 {DIGEST}"),
                },
            ]
        })
        .chain(std::iter::once(vec![
            s("末行"),
            s("2024-03-05 04:00:00"),
            s("198.51.100.9"),
            s("末页核查记录：攻击源已封禁"),
        ]))
        .collect();
    Document {
        title: s(TITLE),
        subtitle: Some(s("某政务云数据中心 · YS-2024-0305-001")),
        author: s("云守安全运营中心"),
        blocks: vec![
            Block::Heading { level: 1, text: s("一、事件概况") },
            Block::KeyValues(vec![
                (s("事件编号"), s("YS-2024-0305-001")),
                (s("事件分类"), s("网络攻击事件 / 凭据攻击")),
                (s("事件级别"), s("较大（III级）")),
                (s("影响范围"), s("政务服务门户 2 台前端主机，1 台跳板机")),
            ]),
            Block::Paragraph(format!(
                "2024年3月5日凌晨，安全运营中心监测到针对跳板机 SSH 服务的暴力破解（brute force）攻击，\
                 攻击者随后以弱口令账户登录并投放恶意文件，其 SHA-256 摘要为 {DIGEST}。\
                 The attacker then attempted lateral movement towards the portal front-end hosts."
            )),
            Block::Heading { level: 2, text: s("1.1 处置措施") },
            Block::Bullets(vec![
                s("封禁攻击源地址 203.0.113.0/24，并在边界防火墙上启用地理位置访问控制。"),
                s("重置受影响账户口令，启用双因素认证（2FA）。"),
                s("对恶意文件进行取证留存，提交威胁情报平台比对。"),
            ]),
            Block::Note(s("注：本报告依据 GB/T 20986-2023《网络安全事件分类分级指南》编制。")),
            Block::Heading { level: 1, text: s("二、攻击日志摘录") },
            Block::Table {
                headers: vec![s("序号"), s("时间"), s("源地址"), s("说明")],
                rows,
                widths: Some(vec![0.6, 1.6, 1.2, 4.0]),
            },
            Block::Paragraph(s("以上日志已归档至证据库，哈希链校验通过。")),
        ],
    }
}

/// Runs a poppler/tesseract program; a missing program fails the test naming its package.
fn run(program: &str, package: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}): install the Debian package {package}")
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn font() -> Font {
    Font::find_cjk(None).unwrap_or_else(|e| {
        panic!("{e}\n(the test needs a CJK font: apt-get install fonts-wqy-microhei)")
    })
}

fn render_report(dir: &Path) -> std::path::PathBuf {
    let created = FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2024, 3, 5, 9, 30, 0)
        .unwrap();
    let pdf = render_at(&report(), &font(), created).expect("render");
    let path = dir.join("report.pdf");
    std::fs::write(&path, pdf).unwrap();
    path
}

#[test]
fn report_is_a4_with_embedded_font_and_extractable_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = render_report(dir.path());
    let pdf = pdf.to_str().unwrap();

    let info = run("pdfinfo", "poppler-utils", &[pdf]);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .expect("page count")
        .trim()
        .parse()
        .unwrap();
    // 121 table rows of one to three lines (about 40 rows a page) and the first page's text:
    // seven pages in wqy-microhei, a little more or less in other CJK fonts.
    assert!((5..=9).contains(&pages), "{pages} pages\n{info}");
    assert!(info.contains("595.28 x 841.89 pts (A4)"), "{info}");
    assert!(
        info.contains(&format!("Title:           {TITLE}")),
        "{info}"
    );
    assert!(info.contains("Author:          云守安全运营中心"), "{info}");
    assert!(
        info.contains("CreationDate:") && info.contains("2024"),
        "{info}"
    );

    // Archival: PDF/A-2u (every glyph maps to Unicode) when the font covers all characters.
    let meta = run("pdfinfo", "poppler-utils", &["-meta", pdf]);
    assert!(meta.contains("<pdfaid:part>2</pdfaid:part>"), "{meta}");
    assert!(
        meta.contains("<pdfaid:conformance>U</pdfaid:conformance>"),
        "{meta}"
    );

    // One row per font: name, type, encoding, emb, sub, uni, object id.
    let fonts = run("pdffonts", "poppler-utils", &[pdf]);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        let n = cols.len();
        assert_eq!(
            &cols[n - 5..n - 2],
            ["yes", "yes", "yes"],
            "emb sub uni: {fonts}"
        );
    }

    let text = run("pdftotext", "poppler-utils", &["-layout", pdf, "-"]);
    for want in [
        TITLE,
        "凭据攻击",
        "较大（III级）",
        "末页核查记录：攻击源已封禁",
        "第 3 页",
    ] {
        assert!(
            text.contains(want),
            "{want:?} missing from the text:\n{text}"
        );
    }
    // Each page's text is one form-feed-separated chunk; the last row is on the last page,
    // under a repeated header.
    let last = text.split('\x0c').rfind(|p| !p.trim().is_empty()).unwrap();
    assert!(
        last.contains("末页核查记录") && last.contains("序号"),
        "{last}"
    );
    assert!(
        last.contains(&format!("第 {pages} 页 / 共 {pages} 页")),
        "{last}"
    );
    // The digest was broken across lines, not dropped.
    let joined: String = text.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    assert!(joined.contains(DIGEST), "the digest is incomplete");
}

/// Renders page 1 to PNG at `dpi` and returns its path.
fn page_one_png(pdf: &Path, dpi: u32) -> std::path::PathBuf {
    let prefix = pdf.with_file_name(format!("page-{dpi}"));
    let dpi_arg = dpi.to_string();
    run(
        "pdftoppm",
        "poppler-utils",
        &[
            "-r",
            &dpi_arg,
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    prefix.with_extension("png")
}

#[test]
fn page_one_shows_text_and_ocr_reads_the_title() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = render_report(dir.path());

    let png = page_one_png(&pdf, 100);
    let decoder = png::Decoder::new(std::fs::File::open(&png).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).unwrap();
    let channels = frame.color_type.samples();
    let (w, h) = (frame.width as usize, frame.height as usize);
    // A4 at 100 dpi.
    assert!(w == 827 && (1169..=1170).contains(&h), "{w}x{h}");
    let dark = |row: usize| {
        (0..w)
            .filter(|x| buf[(row * w + x) * channels] < 128)
            .count()
    };
    let upper: usize = (0..h / 3).map(dark).sum();
    let share = upper as f64 / (w * (h / 3)) as f64;
    // Text covers a few per cent of a page; a blank page or one of .notdef boxes differs.
    assert!(
        (0.01..0.25).contains(&share),
        "dark share {share:.4} in the upper third"
    );

    // OCR proves that glyphs, not boxes, were drawn. It needs tesseract-ocr with
    // tesseract-ocr-chi-sim; without them this part is left out (and says so).
    let langs = Command::new("tesseract")
        .arg("--list-langs")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
        })
        .unwrap_or_default();
    if !langs.lines().any(|l| l.trim() == "chi_sim") {
        eprintln!("OCR check left out: install tesseract-ocr and tesseract-ocr-chi-sim");
        return;
    }
    let png = page_one_png(&pdf, 200);
    let ocr = run(
        "tesseract",
        "tesseract-ocr",
        &[png.to_str().unwrap(), "-", "-l", "chi_sim"],
    );
    let ocr: String = ocr.chars().filter(|c| !c.is_whitespace()).collect();
    let found = TITLE.chars().filter(|c| ocr.contains(*c)).count();
    assert!(
        found >= TITLE.chars().count() - 1,
        "OCR found {found} of the title's characters in:\n{ocr}"
    );
    assert!(ocr.contains("凭据攻击"), "OCR text:\n{ocr}");
}

#[test]
fn characters_missing_from_the_font_still_extract() {
    // U+2A6D6 and U+20000 lie in CJK Extension B, which wqy-microhei and Noto CJK lack. Two
    // of them: the first is mapped by ToUnicode, the second by ActualText.
    let font = font();
    let rare = "𪛖𠀀";
    assert_eq!(
        font.missing(rare),
        rare,
        "the font unexpectedly covers {rare}"
    );
    let doc = Document {
        title: s("生僻字测试"),
        subtitle: None,
        author: s("云守"),
        blocks: vec![Block::Paragraph(format!("姓名：张{rare}明，𠀀"))],
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rare.pdf");
    std::fs::write(&path, yunshou_pdfdoc::render(&doc, &font).unwrap()).unwrap();
    let text = run("pdftotext", "poppler-utils", &[path.to_str().unwrap(), "-"]);
    assert!(text.contains(&format!("张{rare}明，𠀀")), "{text}");
}

#[test]
fn noto_sans_cjk_a_cff_collection_embeds_its_simplified_chinese_face() {
    let path = Path::new("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc");
    assert!(
        path.is_file(),
        "{} missing: apt-get install fonts-noto-cjk",
        path.display()
    );
    let font = Font::find_cjk(Some(path)).unwrap();
    // Faces: JP, KR, SC, TC, HK; SC is chosen by name.
    assert_eq!(font.index(), 2);
    assert_eq!(font.path(), Some(path));
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("noto.pdf");
    std::fs::write(&pdf, yunshou_pdfdoc::render(&report(), &font).unwrap()).unwrap();
    let pdf = pdf.to_str().unwrap();
    let fonts = run("pdffonts", "poppler-utils", &[pdf]);
    assert!(fonts.contains("NotoSansCJKsc-Regular"), "{fonts}");
    assert!(fonts.contains("CID Type 0C"), "{fonts}");
    assert!(fonts.contains("yes yes yes"), "{fonts}");
    let text = run("pdftotext", "poppler-utils", &["-layout", pdf, "-"]);
    assert!(
        text.contains(TITLE) && text.contains("末页核查记录"),
        "{text}"
    );
}

fn s(t: &str) -> String {
    t.to_string()
}

#[test]
fn a_font_that_is_not_cjk_is_refused() {
    let err = Font::find_cjk(Some(Path::new("/nonexistent/font.ttf"))).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/font.ttf"), "{err}");
    assert!(Font::from_bytes(b"not a font".to_vec(), 0).is_err());
    let dejavu = Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    if dejavu.is_file() {
        let err = Font::find_cjk(Some(dejavu)).unwrap_err();
        assert!(err.to_string().contains("not a CJK font"), "{err}");
    }
}
