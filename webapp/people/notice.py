"""The consent notices' texts, one constant pair per version, never edited once published
(a change is a new version: a consent proves what the person agreed to).

Version 1 is written by migration e1privacy0001 and, when the table is empty, by
:func:`webapp.people.consent.current_notice`.
"""

VERSION = 1

NOTICE_VI = """THÔNG BÁO VỀ XỬ LÝ DỮ LIỆU CÁ NHÂN (phiên bản 1)

Ủy ban nhân dân xã dùng phần mềm Lớp Số để tổ chức các lớp "Bình dân học vụ số".

1. Dữ liệu của bạn được ghi: họ tên, năm sinh, giới tính, số điện thoại (nếu có), thôn, hộ gia \
đình, nhóm đối tượng; dạng khuyết tật (để hỗ trợ bạn khi học) và hộ nghèo, cận nghèo (để ưu \
tiên); các lớp bạn học, điểm danh, kết quả học tập, giấy chứng nhận, các buổi Đại sứ số hướng \
dẫn bạn.
2. Để làm gì: xếp lớp, điểm danh, cấp giấy chứng nhận, hướng dẫn tại nhà, báo cáo kết quả của \
xã với huyện, tỉnh (chỉ báo số liệu tổng hợp, không nêu tên).
3. Ai được xem: cán bộ xã phụ trách, trưởng thôn của thôn bạn, người dạy lớp bạn học, Đại sứ số \
hướng dẫn bạn. Không bán, không đưa cho ai khác, trừ cơ quan nhà nước có thẩm quyền theo luật.
4. Lưu bao lâu: trong thời gian thực hiện kế hoạch phổ cập kỹ năng số; sau đó xoá hoặc làm \
cho không nhận ra được. Mỗi lần có người xem, in, tải hoặc sửa dữ liệu của bạn đều được ghi lại.
5. Quyền của bạn: xem toàn bộ dữ liệu về mình; yêu cầu sửa; yêu cầu tạm ngừng xử lý; rút lại \
đồng ý bất cứ lúc nào; yêu cầu xoá. Hãy báo cán bộ xã, trưởng thôn hoặc người dạy lớp. Sau khi \
bạn rút lại đồng ý, dữ liệu của bạn không được dùng nữa cho đến khi bạn đồng ý lại.

Căn cứ: Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15; Nghị định 13/2023/NĐ-CP."""

NOTICE_EN = """NOTICE ON THE PROCESSING OF PERSONAL DATA (version 1)

The commune People's Committee uses Lớp Số to run the "Bình dân học vụ số" classes.

1. What is recorded: your name, birth year, sex, phone number (if any), village, household, \
target group; disability type (to support you in class) and poor or near-poor household (for \
priority); the classes you attend, attendance, learning results, certificates, the visits of \
the Digital Ambassador guiding you.
2. What for: placing you in classes, attendance, certificates, home guidance, the commune's \
reports to the district and province (totals only, no names).
3. Who sees it: the commune officers in charge, your village lead, your class's trainer, the \
Digital Ambassador guiding you. Never sold or given to anyone else, except state authorities as \
the law requires.
4. How long: while the digital-skills plan runs; then erased or made unidentifiable. Every \
time someone views, prints, downloads or changes your data, it is logged.
5. Your rights: see everything held about you; have it corrected; have processing paused; \
withdraw consent at any time; have it erased. Tell a commune officer, your village lead or your \
trainer. After you withdraw consent your data is not used until you consent again.

Basis: Personal Data Protection Law 91/2025/QH15; Decree 13/2023/ND-CP."""
