-- A store small enough to count the cockpit's overdue alerts by hand (tests/domain/test_cockpit.py).
-- on_time_days = 15 (data/indices.toml). The opinions' as-of time is the latest submitted/closed/
-- assigned time: O07, 2024-07-10 12:00. The suggestions' as-of date is the latest 提出/交办/答复/
-- 二次答复 date: G05's 二次答复, 2024-07-05 (答复期限 are plans, not records: G03's 07-20 is not it).

INSERT INTO units (unit_id, name, level, parent) VALUES
    ('D0', '区人大代表联络总站', '总站', NULL),
    ('T1', '瓜沥镇', '镇街', 'D0'),
    ('T2', '城厢街道', '镇街', 'D0'),
    ('S1', '瓜沥镇甲村代表联络站', '联络站', 'T1'),
    ('S2', '瓜沥镇乙村代表联络站', '联络站', 'T1'),
    ('S3', '丙社区代表联络站', '联络站', 'T2');

INSERT INTO reps (rep_id, name, rep_level, town, station) VALUES
    ('R1', '张伟', '区', '瓜沥镇',   '瓜沥镇甲村代表联络站'),
    ('R2', '李娜', '区', '城厢街道', '丙社区代表联络站'),
    ('R3', '王芳', '区', '瓜沥镇',   NULL),
    ('R4', '王芳', '镇', '城厢街道', NULL);   -- same name in two towns: a lead "王芳" has no town

INSERT INTO opinions (opinion_id, submitted_at, town, station, title, content, submitter, status, assigned_at, closed_at) VALUES
    -- overdue: deadline 05-16 10:00, 55 days 2 hours late -> 56 started days
    ('O01', '2024-05-01 10:00:00', '瓜沥镇',   '瓜沥镇甲村代表联络站', '路灯不亮', '路灯不亮', '张三', '办理中', '2024-05-02 09:00:00', NULL),
    -- overdue: deadline 07-05 08:00, 5 days 4 hours late -> 6
    ('O02', '2024-06-20 08:00:00', '瓜沥镇',   '瓜沥镇乙村代表联络站', '噪声扰民', '噪声扰民', '李四', '待受理', NULL, NULL),
    -- not yet due: deadline 07-15 12:00
    ('O03', '2024-06-30 12:00:00', '瓜沥镇',   NULL,                   '停车难',   '停车难',   '王五', '办理中', NULL, NULL),
    -- not accepted: never overdue
    ('O04', '2024-04-01 09:00:00', '瓜沥镇',   NULL,                   '重复反映', '重复反映', '赵六', '不予受理', NULL, NULL),
    -- closed late: not open, so not in the alert
    ('O05', '2024-04-02 09:00:00', '瓜沥镇',   NULL,                   '河道清理', '河道清理', '钱七', '已办结', '2024-04-03 09:00:00', '2024-06-01 09:00:00'),
    -- status unknown counts as open (as the index's 已到期 counts it): deadline 05-25 09:00, 46 d 3 h -> 47
    ('O06', '2024-05-10 09:00:00', '城厢街道', '丙社区代表联络站',     '加装电梯', '加装电梯', '孙八', NULL, NULL, NULL),
    -- the as-of time itself; not due
    ('O07', '2024-07-10 12:00:00', '城厢街道', NULL,                   '学位紧张', '学位紧张', '周九', '办理中', NULL, NULL),
    -- deadline exactly at the as-of time (07-10 12:00): not yet overdue
    ('O08', '2024-06-25 12:00:00', '城厢街道', NULL,                   '老旧小区', '老旧小区', '吴十', '办理中', NULL, NULL);

INSERT INTO suggestions (suggestion_id, session, submitted_at, lead_rep, title, main_handler, assigned_at, due_at, answered_at, answer_class, second_answered_at) VALUES
    ('G01', '十八届三次', '2024-03-01', 'R1',   '支小路打通',   '区住建局', '2024-03-10', '2024-05-31', NULL,         NULL, NULL),        -- overdue 35 days, 瓜沥镇
    ('G02', '十八届三次', '2024-03-02', '李娜', '亚运场馆利用', '区体育局', '2024-03-10', '2024-06-30', NULL,         'B',  NULL),        -- a class without a date: answered
    ('G03', '十八届三次', '2024-03-03', '张伟', '学位供给',     '区教育局', '2024-03-10', '2024-07-20', NULL,         NULL, NULL),        -- not yet due
    ('G04', '十八届三次', '2024-03-04', '王芳', '回迁安置',     '区住建局', '2024-03-10', '2024-06-01', NULL,         NULL, NULL),        -- overdue 34 days, no town
    ('G05', '十八届三次', '2024-03-05', 'R2',   '河道整治',     '区林水局', '2024-03-10', '2024-06-15', '2024-06-20', 'A',  '2024-07-05'),  -- answered late: not open
    ('G06', '十八届三次', '2024-07-02', 'R2',   '居家养老助餐', '区民政局', '2024-03-10', '2024-07-01', NULL,         NULL, NULL),        -- overdue 4 days, 城厢街道
    ('G07', '十八届三次', '2024-03-07', 'R1',   '垃圾分类',     '区城管局', '2024-03-10', NULL,         NULL,         NULL, NULL);        -- no deadline: never overdue
