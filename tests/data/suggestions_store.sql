-- A store small enough to follow every suggestion by hand (tests/domain/test_suggestions.py).
-- Session 十八届四次 (2024): G01–G12; session 十八届三次 (2023): G00. The suggestions' latest date
-- is G10's 提出时间 2024-12-20 ("now" for overdue items); an opinion of 2024-12-31 must not move it.

INSERT INTO reps (rep_id, name, rep_level, town) VALUES
    ('R1', '张伟', '区', '瓜沥镇'),
    ('R2', '李娜', '区', '城厢街道'),
    ('R3', '王芳', '区', '瓜沥镇'),
    ('R4', '王芳', '镇', '城厢街道');   -- same name in two towns: a lead "王芳" has no town

INSERT INTO suggestions (suggestion_id, session, submitted_at, submit_type, lead_rep, title, main_handler, supervision,
                         assigned_at, due_at, answered_at, answer_class, evaluation, second_answered_at) VALUES
    --        提出          类型        领衔    标题                         主办单位    督办方式               交办          期限          答复          类别  评价        二次答复
    ('G00', '十八届三次', '2023-01-10', '大会期间', 'R1',   '关于加强河道保洁的建议',     '区城管局', NULL,                  '2023-02-01', '2023-05-01', '2023-03-01', 'A',  '满意',     NULL),
    ('G01', '十八届四次', '2024-01-10', '大会期间', 'R1',   '关于打通断头路的建议',       '区住建局', '常委会重点督办',      '2024-02-01', '2024-05-01', '2024-03-01', 'A',  '满意',     NULL),
    ('G02', '十八届四次', '2024-01-10', '大会期间', '张伟', '关于增设公交站点的建议',     '区住建局', NULL,                  '2024-02-01', '2024-05-01', '2024-05-11', 'B',  '基本满意', '2024-09-01'),
    ('G03', '十八届四次', '2024-01-11', '大会期间', '李娜', '关于增加学位供给的建议',     '区教育局', '各委办对口督办',      '2024-02-01', '2024-05-01', '2024-04-20', 'C',  '不满意',   NULL),
    ('G04', '十八届四次', '2024-01-12', '大会期间', '王芳', '关于回迁安置提速的建议',     '区教育局', '主任会议成员牵头督办', '2024-02-01', '2024-05-01', NULL,         NULL, NULL,       NULL),
    ('G05', '十八届四次', '2024-01-12', '大会期间', 'R3',   '关于缓解停车难问题的建议',   '区教育局', NULL,                  '2024-02-01', '2024-05-01', '2024-04-01', 'A',  '基本满意', NULL),
    ('G06', '十八届四次', '2024-01-12', '大会期间', 'R1',   '关于河道整治的建议',         '区住建局', NULL,                  '2024-02-05', '2024-05-05', '2024-04-15', 'A',  '未评价',   NULL),
    ('G07', '十八届四次', '2024-06-01', '闭会期间', 'R2',   '关于老旧小区改造的建议',     '区城管局', NULL,                  '2024-06-10', '2024-09-10', '2024-07-01', 'B',  '满意',     NULL),
    ('G08', '十八届四次', '2024-06-05', '闭会期间', 'R1',   '关于噪声治理的建议',         '区住建局', NULL,                  '2024-06-15', '2024-09-15', NULL,         NULL, NULL,       NULL),
    ('G09', '十八届四次', '2024-11-01', '闭会期间', 'R2',   '关于居家养老助餐的建议',     '区城管局', NULL,                  '2024-11-20', '2025-02-20', NULL,         NULL, NULL,       NULL),
    ('G10', '十八届四次', '2024-12-20', '闭会期间', 'R3',   '关于亚运场馆利用的建议',     NULL,       NULL,                  NULL,         NULL,         NULL,         NULL, NULL,       NULL),
    ('G11', '十八届四次', '2024-03-01', '闭会期间', 'R1',   '关于垃圾分类的建议',         '区城管局', NULL,                  '2024-03-10', '2024-06-10', '2024-06-20', NULL, NULL,       NULL),
    ('G12', '十八届四次', '2024-01-12', '大会期间', 'R3',   '关于学校周边交通的建议',     '区教育局', NULL,                  '2024-02-01', '2024-05-01', '2024-03-15', 'B',  '满意',     NULL);

-- Opinions in 瓜沥镇 for the "solved, yet still rising" keyword check (G05 answered 2024-04-01:
-- after = [2024-04-01, 2024-10-01), before = the same 183 days before it, [2023-10-01, 2024-04-01)).
INSERT INTO opinions (opinion_id, submitted_at, town, title, content) VALUES
    ('P01', '2023-11-05 09:00:00', '瓜沥镇', '停车难', '小区停车难'),
    ('P02', '2024-02-05 09:00:00', '瓜沥镇', '停车难', '小区停车难'),
    ('P03', '2023-09-30 09:00:00', '瓜沥镇', '停车难', '窗口之外（前一天）'),
    ('P04', '2024-10-01 09:00:00', '瓜沥镇', '停车难', '窗口之外（当天结束）'),
    ('P05', '2024-05-01 09:00:00', '城厢街道', '停车难', '别的镇街'),
    ('P06', '2024-12-31 20:00:00', '城厢街道', '最晚的意见', '不改变建议的数据截止日');
INSERT INTO opinions (opinion_id, submitted_at, town, title, content)
    SELECT 'PA' || i, TIMESTAMP '2024-04-01 08:00:00' + INTERVAL (i * 15) DAY, '瓜沥镇', '又反映停车难', '停车难'
    FROM range(10) t(i);                                     -- 10 after the answer: 04-01 … 08-13
-- G01 (打通断头路, answered 2024-03-01): 5 before, 6 after: after < min_after 10, not flagged.
INSERT INTO opinions (opinion_id, submitted_at, town, title, content)
    SELECT 'PB' || i, TIMESTAMP '2023-10-01 08:00:00' + INTERVAL (i * 20) DAY, '瓜沥镇', '打通断头路', '断头路'
    FROM range(5) t(i);
INSERT INTO opinions (opinion_id, submitted_at, town, title, content)
    SELECT 'PC' || i, TIMESTAMP '2024-03-02 08:00:00' + INTERVAL (i * 20) DAY, '瓜沥镇', '打通断头路', '断头路'
    FROM range(6) t(i);
